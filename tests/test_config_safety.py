"""Config that cannot escape the root, inject an identifier or hang: the probes of issue 16.

Each case is a configuration an attacker or an unlucky author wrote; each must be refused by
``load_config`` (and ``lakehouse validate-config``) with a ConfigError naming the file and the
key, before Spark starts and before anything is written.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from lakehouse.config import load_config
from lakehouse.config.bounded_yaml import MAX_DEPTH
from lakehouse.errors import ConfigError

BOMB_271 = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
    f"{k}: &{k} [" + ",".join([f"*{p}"] * 9) + "]\n" for p, k in zip("abcdefg", "bcdefgh", strict=True)
)


def pipeline(**datasets: Any) -> dict[str, Any]:
    """A pipeline tree with the given datasets (default: one dataset ``usage`` with gold)."""
    usage = {
        "source": {"format": "csv", "path": "usage", "options": {"header": True}},
        "contract": {"primary_key": ["id"], "columns": [{"name": "id"}, {"name": "v"}]},
        "gold": {"table": "usage", "mode": "merge", "keys": ["id"]},
    }
    return {"pipeline": "p", "storage": {"root": "/lake/root"}, "datasets": datasets or {"usage": usage}}


def usage(**changes: Any) -> dict[str, Any]:
    spec = pipeline()["datasets"]["usage"]
    for key, value in changes.items():
        spec[key] = value
    return spec


def refused(tmp_path: Path, tree: dict[str, Any]) -> ConfigError:
    """Load ``tree`` from a file; it must fail with a ConfigError located in that file."""
    path = tmp_path / "pipeline.yml"
    path.write_text(json.dumps(tree))
    with pytest.raises(ConfigError) as info:
        load_config(path, None, environ={})
    assert info.value.file == str(path)
    return info.value


# -- path traversal (the probe wrote Delta tables two levels above the root) ----------------
@pytest.mark.parametrize(
    ("tree", "key"),
    [
        (pipeline(**{"../../etc": usage()}), "datasets.../../etc"),
        (
            pipeline(usage=usage(gold={"table": "../../../evil_usage", "keys": ["id"]})),
            "datasets.usage.gold.table",
        ),
        (pipeline(usage=usage(paths={"bronze": "../../evil_bronze"})), "datasets.usage.paths.bronze"),
        (pipeline(usage=usage(paths={"silver": "silver/../../x"})), "datasets.usage.paths.silver"),
        (pipeline(usage=usage(paths={"quarantine": "/tmp/evil_q"})), "datasets.usage.paths.quarantine"),
        (pipeline(usage=usage(paths={"bronze": "file:/tmp/evil"})), "datasets.usage.paths.bronze"),
        (
            pipeline(usage=usage(paths={"bronze": "abfss://c@a.dfs.core.windows.net/x"})),
            "datasets.usage.paths.bronze",
        ),
        (pipeline(usage=usage(paths={"bronze": "..\\..\\evil"})), "datasets.usage.paths.bronze"),
        (
            pipeline(usage=usage(source={"format": "csv", "path": "../../elsewhere"})),
            "datasets.usage.source.path",
        ),
    ],
)
def test_traversal_configs_are_rejected(tmp_path: Path, tree: dict[str, Any], key: str) -> None:
    error = refused(tmp_path, tree)
    assert error.key_path == key


def test_derived_name_cannot_traverse(tmp_path: Path) -> None:
    tree = pipeline()
    tree["derived"] = [
        {"name": "../../evil_derived", "inputs": ["usage"], "sql": "SELECT 1 AS d", "mode": "append"}
    ]
    assert refused(tmp_path, tree).key_path == "derived.0.name"


def test_absolute_table_path_needs_an_external_path(tmp_path: Path) -> None:
    tree = pipeline(usage=usage(paths={"bronze": "/mnt/shared/usage_bronze"}))
    error = refused(tmp_path, tree)
    assert "storage.external_paths" in str(error)
    tree["storage"]["external_paths"] = ["/mnt/shared"]
    path = tmp_path / "ok.yml"
    path.write_text(json.dumps(tree))
    assert load_config(path, None, environ={}).datasets["usage"].bronze_path == "/mnt/shared/usage_bronze"
    tree["storage"]["external_paths"] = ["/mnt/shared/../.."]
    assert refused(tmp_path, tree).key_path == "storage.external_paths.0"


def test_absolute_landing_folder_is_still_allowed(tmp_path: Path) -> None:
    # A source folder is only read; an absolute one is documented (and common: ${LANDING}).
    tree = pipeline(usage=usage(source={"format": "csv", "path": "/data/exports/usage"}))
    path = tmp_path / "p.yml"
    path.write_text(json.dumps(tree))
    assert load_config(path, None, environ={}).datasets["usage"].source.path == "/data/exports/usage"


def test_validate_config_refuses_traversal_and_writes_nothing(tmp_path: Path) -> None:
    tree = pipeline(usage=usage(paths={"bronze": "../../evil_bronze"}))
    tree["storage"]["root"] = str(tmp_path / "a" / "b" / "root")
    path = tmp_path / "p.yml"
    path.write_text(json.dumps(tree))
    out = subprocess.run(
        [sys.executable, "-m", "lakehouse", "validate-config", "--config", str(path), "--env", ""],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2, out.stderr
    assert "datasets.usage.paths.bronze" in out.stderr and "'..'" in out.stderr
    assert "Traceback" not in out.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.yml"]


# -- shared tables and checkpoints ---------------------------------------------------------
def test_two_datasets_cannot_share_a_checkpoint(tmp_path: Path) -> None:
    # Names differing in case share a checkpoint (and a Unity Catalog table) on many stores.
    error = refused(tmp_path, pipeline(usage=usage(), USAGE=usage(gold={"table": "usage2", "keys": ["id"]})))
    assert error.key_path == "datasets.USAGE"
    assert "checkpoint" in str(error) or "table" in str(error)


@pytest.mark.parametrize(
    ("other", "key"),
    [
        (usage(gold={"table": "usage", "keys": ["id"]}), "datasets.other.gold.table"),
        (
            usage(gold={"table": "t2", "keys": ["id"]}, paths={"silver": "silver/usage"}),
            "datasets.other.paths.silver",
        ),
        (
            usage(gold={"table": "t2", "keys": ["id"]}, paths={"bronze": "bronze/usage/x"}),
            "datasets.other.paths.bronze",
        ),
        (usage(gold={"table": "usage_quarantine", "keys": ["id"]}), "datasets.other.gold.table"),
        (
            usage(gold={"table": "t2", "keys": ["id"]}, paths={"bronze": "landing/usage"}),
            "datasets.other.paths.bronze",
        ),
    ],
)
def test_two_datasets_cannot_share_a_table(tmp_path: Path, other: dict[str, Any], key: str) -> None:
    error = refused(tmp_path, pipeline(usage=usage(), other=other))
    assert error.key_path == key
    assert "datasets cannot share" in str(error)


def test_derived_table_cannot_reuse_a_gold_table(tmp_path: Path) -> None:
    tree = pipeline()
    tree["derived"] = [{"name": "usage", "inputs": ["usage"], "sql": "SELECT 1 AS d", "mode": "append"}]
    error = refused(tmp_path, tree)
    assert error.key_path == "derived.0.name"
    assert "gold table" in str(error)


# -- identifier injection (folders named ``usage`; DROP TABLE x; --`` were created) ---------
INJECTION = "usage`; DROP TABLE x; --"
# Merge keys double a mapping per level: 2**40 keys once expanded.
MERGE_BOMB = "m0: &m0 {k: 1}\n" + "".join(
    f"m{i}: &m{i} {{<<: [*m{i - 1}, *m{i - 1}], k{i}: 1}}\n" for i in range(1, 40)
)


@pytest.mark.parametrize(
    ("tree", "key"),
    [
        (pipeline(**{INJECTION: usage()}), f"datasets.{INJECTION}"),
        (pipeline(usage=usage(gold={"table": INJECTION, "keys": ["id"]})), "datasets.usage.gold.table"),
        (pipeline(usage=usage(gold={"table": "u", "keys": ["id`) OR 1=1"]})), "datasets.usage.gold.keys.0"),
        (
            pipeline(usage=usage(gold={"table": "u", "keys": ["id"], "partition_by": ["d'; x"]})),
            "datasets.usage.gold.partition_by.0",
        ),
        (
            pipeline(usage=usage(contract={"columns": [{"name": 'v"; DROP'}]}, gold=None)),
            "datasets.usage.contract.columns.0.name",
        ),
        (
            pipeline(
                usage=usage(
                    gold={
                        "table": "u",
                        "keys": ["id"],
                        "transforms": [{"dedupe": {"keys": ["a;b"], "order_by": "v"}}],
                    }
                )
            ),
            "datasets.usage.gold.transforms.0.dedupe.keys.0",
        ),
        (
            pipeline(
                usage=usage(gold={"table": "u", "keys": ["id"], "transforms": [{"rename": {"v": "w`x"}}]})
            ),
            "datasets.usage.gold.transforms.0.rename.v",
        ),
        (
            pipeline(
                usage=usage(
                    gold={"table": "u", "keys": ["id"], "transforms": [{"fill": {"values": {"v;": 0}}}]}
                )
            ),
            "datasets.usage.gold.transforms.0.fill.values.v;",
        ),
        (
            pipeline(
                usage=usage(
                    gold={
                        "table": "u",
                        "keys": ["id"],
                        "expectations": [{"name": "e", "unique": ["id", "v`"]}],
                    }
                )
            ),
            "datasets.usage.gold.expectations.0.unique.1",
        ),
        (
            pipeline(
                usage=usage(
                    gold={
                        "table": "u",
                        "keys": ["id"],
                        "expectations": [{"name": "e", "null_ratio": {"column": "v'"}}],
                    }
                )
            ),
            "datasets.usage.gold.expectations.0.null_ratio.column",
        ),
        (
            pipeline(usage=usage(contract={"columns": [{"name": "v", "source": "bad\nname"}]}, gold=None)),
            "datasets.usage.contract.columns.0.source",
        ),
        ({**pipeline(), "pipeline": "p; rm -rf /"}, "pipeline"),
    ],
)
def test_identifier_injection_is_rejected_at_config_time(
    tmp_path: Path, tree: dict[str, Any], key: str
) -> None:
    for spec in tree["datasets"].values():
        if spec.get("gold") is None:
            spec.pop("gold", None)
    assert refused(tmp_path, tree).key_path == key


@pytest.mark.parametrize(
    "sql",
    [
        "DROP TABLE gold_usage",
        "SELECT 1 AS d; DROP TABLE gold_usage",
        "INSERT INTO gold_usage SELECT * FROM gold_usage",
    ],
)
def test_derived_sql_must_be_one_query(tmp_path: Path, sql: str) -> None:
    tree = pipeline()
    tree["derived"] = [{"name": "d", "inputs": ["usage"], "sql": sql, "mode": "append"}]
    assert refused(tmp_path, tree).key_path == "derived.0.sql"


def test_safe_names_quotes_and_unity_catalog_names_pass(tmp_path: Path) -> None:
    tree = pipeline(usage=usage(gold={"table": "main.gold.usage", "keys": ["id"]}))
    tree["datasets"]["usage"]["contract"]["columns"][1]["source"] = "Value (EUR); `x`"
    tree["derived"] = [
        {"name": "d", "inputs": ["usage"], "mode": "append", "sql": "SELECT ';' AS s -- no; statement\n;"}
    ]
    path = tmp_path / "p.yml"
    path.write_text(json.dumps(tree))
    config = load_config(path, None, environ={})
    assert config.datasets["usage"].gold.table == "main.gold.usage"
    assert config.datasets["usage"].contract.column("v").source == "Value (EUR); `x`"
    assert config.derived[0].sql == "SELECT ';' AS s -- no; statement\n"  # the final ';' dropped


# -- YAML that expands without bound -------------------------------------------------------
def test_the_271_byte_bomb_is_refused_fast_with_bounded_memory(tmp_path: Path) -> None:
    assert len(BOMB_271.encode()) == 271
    (tmp_path / "conf/pipelines").mkdir(parents=True)
    (tmp_path / "conf/envs").mkdir()
    (tmp_path / "conf/envs/local.yml").write_text("{}\n")
    bomb = tmp_path / "conf/pipelines/bomb.yml"
    bomb.write_text(BOMB_271)
    # The child reports its own peak resident memory as VmHWM, which starts afresh at exec.
    # (RUSAGE_CHILDREN would report the largest child this test process ever had, and a forked
    # child's RUSAGE_SELF keeps the parent's peak from before exec: 217 MiB in a full run.)
    code = (
        "import sys\n"
        "from lakehouse.cli import main\n"
        f"rc = main(['validate-config', '--config', {str(bomb)!r}])\n"
        "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0].split()[1]\n"
        "print('peak_kb', hwm)\n"
        "sys.exit(rc)\n"
    )
    started = time.monotonic()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    elapsed = time.monotonic() - started
    peak_mb = int(out.stdout.split("peak_kb")[1]) / 1024
    print(f"bomb refused in {elapsed:.2f} s, peak RSS {peak_mb:.0f} MiB")
    assert out.returncode == 2, out.stderr
    assert "alias" in out.stderr and "bomb.yml" in out.stderr
    # A hang guard, not a speed test (0.1-0.4 s measured; the unguarded loader ran > 100 s).
    assert elapsed < 60, f"took {elapsed:.1f} s"
    assert peak_mb < 200, f"peak RSS {peak_mb:.0f} MiB"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: &a [x, *a]\n", "recursive"),
        ("x: " + "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5) + "\n", "nested deeper"),
        ("x: " + "[" * 5000 + "]" * 5000 + "\n", "nested deeper"),
        (MERGE_BOMB, "alias"),
    ],
)
def test_other_expanding_yaml_is_refused(tmp_path: Path, text: Any, message: str) -> None:
    path = tmp_path / "p.yml"
    path.write_text(text)
    started = time.monotonic()
    with pytest.raises(ConfigError, match=message):
        load_config(path, None, environ={})
    assert time.monotonic() - started < 5


def test_ordinary_anchors_still_work(tmp_path: Path) -> None:
    path = tmp_path / "p.yml"
    path.write_text(
        "pipeline: p\n"
        "storage: {root: /lake/root}\n"
        "datasets:\n"
        "  a: {source: &csv {format: csv, path: a, options: {header: true}, schema: infer}}\n"
        "  b: {source: {<<: *csv, path: b}}\n"
    )
    config = load_config(path, None, environ={})
    assert config.datasets["b"].source.format == "csv"
    assert config.datasets["b"].source.options == {"header": "true"}
    assert config.datasets["b"].source.path == "/lake/root/landing/b"
