"""validate-config catches, before Spark, what parses but would fail at run time (issue 11 part 5).

The five broken configs of the issue are checked through the command in a child process that
must finish without importing pyspark or py4j (so no JVM can have started); the other cases
call the checker on small pipelines written here.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from lakehouse.config import load_config
from lakehouse.config.cdc import parse_cdc
from lakehouse.config.columns import Scope, check_gold
from lakehouse.config.gold import parse_gold
from lakehouse.config.node import Node, Origins
from lakehouse.config.validate import Findings, Issue, check_pipeline, preflight
from lakehouse.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]

# Runs the command, then reports on its last stderr line which Spark modules were imported.
PROBE = """
import json, sys
from lakehouse.cli import main
code = main(sys.argv[1:])
spark = sorted({m.split('.')[0] for m in sys.modules} & {'pyspark', 'py4j'})
sys.stderr.write('\\nPROBE ' + json.dumps({'code': code, 'spark_modules': spark}) + '\\n')
sys.exit(code)
"""


def probe(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, str, list[str]]:
    """Run ``lakehouse <args>`` in a child; (exit code, stdout, stderr lines before the probe)."""
    out = subprocess.run(
        [sys.executable, "-c", PROBE, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    lines = out.stderr.strip().splitlines()
    assert lines and lines[-1].startswith("PROBE "), out.stderr[-2000:]
    report = json.loads(lines[-1][len("PROBE ") :])
    assert report["spark_modules"] == [], f"Spark was imported: {report}"
    assert report["code"] == out.returncode
    return out.returncode, out.stdout, [line for line in lines[:-1] if line]


@pytest.fixture
def shipped(tmp_path: Path) -> Path:
    """A copy of the shipped conf/ to break."""
    shutil.copytree(REPO / "conf", tmp_path / "conf")
    return tmp_path


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "LAKEHOUSE_PII_SALT"}
    return {**env, **extra}


SALT = {"LAKEHOUSE_PII_SALT": "never-shown-salt"}
ISSUE_CASES = {
    "broken expectation SQL": (
        'rule: "mem_mb > 0", action: drop',
        'rule: "mem_mb > ", action: drop',
        SALT,
        "conf/pipelines/devices.yml",
        "datasets.usage.gold.expectations.0.rule",
        "'mem_mb > ' does not parse as Spark SQL: incomplete expression: '>' is missing an operand "
        "at line 1, column 8",
    ),
    "rule naming an unknown column": (
        'rule: "mem_mb > 0", action: drop',
        'rule: "memmb > 0", action: drop',
        SALT,
        "conf/pipelines/devices.yml",
        "datasets.usage.gold.expectations.0.rule",
        "names column 'memmb', which the rows of dataset 'usage' do not have; did you mean 'mem_mb'?",
    ),
    "gold keys naming a column outside the contract": (
        "      mode: merge\n      keys: [device_id, event_ts]",
        "      mode: merge\n      keys: [device_id, event_time]",
        SALT,
        "conf/pipelines/devices.yml",
        "datasets.usage.gold.keys.1",
        "names column 'event_time', which the rows of dataset 'usage' do not have; did you mean 'event_ts'?",
    ),
    "derived SQL reading a column no input has": (
        "max(u.mem_mb) AS max_mem_mb",
        "max(u.memory_mb) AS max_mem_mb",
        SALT,
        "conf/pipelines/devices.yml",
        "derived.0.sql",
        "names column 'memory_mb', which none of the tables it reads has; did you mean 'mem_mb'?",
    ),
    "secret whose variable is not set": (
        "pipeline: devices",
        "pipeline: devices",
        {},
        "conf/contracts/usage.yml",  # the key is read from the contract file the pipeline includes
        "datasets.usage.contract.pii_salt",
        "secret env:LAKEHOUSE_PII_SALT: environment variable LAKEHOUSE_PII_SALT is not set "
        "(silver hashes owner_email with it)",
    ),
}


@pytest.mark.parametrize("case", list(ISSUE_CASES))
def test_issue_broken_configs_are_rejected_without_spark(shipped: Path, case: str) -> None:
    old, new, env, file, key_path, message = ISSUE_CASES[case]
    _edit(shipped / "conf/pipelines/devices.yml", old, new)
    args = ["validate-config", "--config", "conf/pipelines/devices.yml", "--env", "local"]

    code, out, err = probe([*args, "--json"], shipped, _env(**env))
    assert code == 2
    assert json.loads(out) == [{"file": file, "key_path": key_path, "message": message}]
    code, out, err = probe(args, shipped, _env(**env))
    assert code == 2 and out == ""
    assert err[0] == f"lakehouse: configuration error: {file}: {key_path}: {message}"
    assert err[-1] == "conf/pipelines/devices.yml (env local): 1 error"
    assert "never-shown-salt" not in out + "\n".join(err)


def test_run_with_a_missing_salt_fails_before_spark_cause_first(shipped: Path) -> None:
    lake = shipped / "lake"
    env = _env(LAKEHOUSE_ROOT=str(lake), LAKEHOUSE_LANDING=str(REPO / "samples/landing"))
    code, out, err = probe(["run", "--config", "conf/pipelines/devices.yml", "--env", "local"], shipped, env)
    assert code == 2 and out == ""
    assert err[0] == (
        "lakehouse: configuration error: conf/contracts/usage.yml: datasets.usage.contract.pii_salt: "
        "secret env:LAKEHOUSE_PII_SALT: environment variable LAKEHOUSE_PII_SALT is not set "
        "(silver hashes owner_email with it)"
    )
    assert not lake.exists()  # nothing was written: no ledger, no bronze


def test_preflight_checks_only_the_layers_and_datasets_that_run(shipped: Path, monkeypatch) -> None:
    monkeypatch.delenv("LAKEHOUSE_PII_SALT", raising=False)
    _edit(
        shipped / "conf/pipelines/devices.yml",
        'rule: "os_version is not null"',
        'rule: "os_versoin is not null"',
    )
    config = load_config(shipped / "conf/pipelines/devices.yml", None)
    preflight(config, None, ("bronze",))  # bronze reads no salt and no rule
    preflight(config, ["device_config"], ("bronze", "silver"))  # device_config hashes nothing
    with pytest.raises(
        ConfigError, match=r"datasets\.usage\.contract\.pii_salt: .*LAKEHOUSE_PII_SALT is not set"
    ):
        preflight(config, ["usage"], ("silver",))
    with pytest.raises(ConfigError) as caught:
        preflight(config, None, ("silver", "gold"))
    assert caught.value.key_path == "datasets.device_config.gold.expectations.1.rule"
    assert "names column 'os_versoin'" in str(caught.value) and "did you mean 'os_version'?" in str(
        caught.value
    )
    assert "(and 1 more: run lakehouse validate-config to list them)" in str(caught.value)


def _shipped_runs() -> list[tuple[str, str | None]]:
    pipelines = sorted(p.name for p in (REPO / "conf/pipelines").glob("*.yml"))
    envs = [None, *sorted(p.stem for p in (REPO / "conf/envs").glob("*.yml"))]
    return [(p, e) for p in pipelines for e in envs]


@pytest.mark.parametrize(("pipeline", "env"), _shipped_runs())
def test_every_shipped_pipeline_validates_under_every_overlay(
    pipeline: str, env: str | None, monkeypatch
) -> None:
    monkeypatch.setenv("LAKEHOUSE_PII_SALT", "test-salt")  # as the README and demo set it
    monkeypatch.delenv("DATABRICKS_RUNTIME_VERSION", raising=False)
    findings = check_pipeline(load_config(REPO / "conf/pipelines" / pipeline, env))
    assert findings.errors == []
    # Scope secrets of the Databricks overlays cannot be read here: a warning, not an error.
    assert all("not on Databricks" in w.message for w in findings.warnings)


# -- small pipelines --------------------------------------------------------------------------
COLUMNS = [
    {"name": "order_id", "type": "long", "nullable": False},
    {"name": "amount", "type": "double"},
    {"name": "status"},
    {"name": "placed_at", "type": "timestamp"},
    {"name": "email", "pii": "drop"},
    {"name": "address", "type": "struct<city:string,zip:string>"},
    {"name": "tags", "type": "array<string>"},
]


def _pipeline(tmp_path: Path, gold: dict[str, Any] | None = None, **top: Any) -> Path:
    dataset: dict[str, Any] = {
        "source": {"format": "csv", "path": "orders"},
        "contract": {"columns": COLUMNS, "primary_key": ["order_id"]},
    }
    if gold is not None:
        dataset["gold"] = {"table": "orders", "mode": "merge", "keys": ["order_id"], **gold}
    tree = {"pipeline": "p", "storage": {"root": str(tmp_path / "lake")}, "datasets": {"orders": dataset}}
    path = tmp_path / "p.yml"
    path.write_text(yaml.safe_dump({**tree, **top}, sort_keys=False))
    return path


def _errors(tmp_path: Path, gold: dict[str, Any] | None = None, **top: Any) -> dict[str, str]:
    findings = check_pipeline(load_config(_pipeline(tmp_path, gold, **top), None))
    assert all(e.file == str(tmp_path / "p.yml") for e in findings.errors)
    return {e.key_path: e.message for e in findings.errors}


G = "datasets.orders.gold"


def test_a_valid_gold_section_with_every_kind_of_reference_passes(tmp_path: Path) -> None:
    gold = {
        "transforms": [
            {"standardize": {"columns": ["status"], "case": "lower"}},
            {"dedupe": {"keys": ["order_id"], "order_by": "_ingested_at desc nulls last, amount"}},
            {"derive": {"placed_on": "to_date(placed_at)", "city": "address.city"}},
            {"filter": "amount >= 0 AND exists(tags, t -> t <> 'test')"},
            {"rename": {"status": "order_status"}},
        ],
        "partition_by": ["placed_on"],
        "expectations": [
            {"name": "derived_column", "rule": "placed_on IS NOT NULL"},
            {"name": "case_insensitive", "rule": "ORDER_STATUS <> 'x'"},
            {"name": "lambda_and_struct", "rule": "forall(tags, x -> length(x) < 20) AND address.zip <> ''"},
            {"name": "metadata", "rule": "_source_file IS NOT NULL"},
            {"name": "has_rows", "aggregate": "count(*) >= 1 AND sum(amount) >= 0"},
            {"name": "unique", "unique": ["order_id", "placed_on"]},
            {"name": "fresh", "freshness": {"column": "placed_at", "max_age": "2d"}},
            {"name": "nulls", "null_ratio": {"column": "city", "max": 0.5}},
            {"name": "databricks_path", "rule": "order_stats:code IS NULL OR true", "action": "warn"},
        ],
    }
    errors = _errors(tmp_path, gold)
    # order_stats is a typo: the only error (the Databricks-only `col:field` syntax parsed).
    assert errors == {
        f"{G}.expectations.8.rule": "names column 'order_stats', which the rows of dataset 'orders' "
        "after transform 4 (rename) do not have; did you mean 'order_status'?"
    }


def test_transforms_change_the_columns_later_keys_see(tmp_path: Path) -> None:
    gold = {
        "transforms": [
            {"rename": {"amount": "total"}},
            {"select": ["order_id", "total * 100 AS cents", "upper(status)"]},
        ],
        "expectations": [
            {"name": "renamed_away", "rule": "amount > 0"},
            {"name": "selected_away", "rule": "placed_at IS NOT NULL"},
            {"name": "kept", "rule": "cents >= 0"},
        ],
    }
    errors = _errors(tmp_path, gold)
    assert errors == {}  # upper(status) has a name Spark chooses: later names are not checked
    gold["transforms"][1] = {"select": ["order_id", "total * 100 AS cents"]}
    errors = _errors(tmp_path, gold)
    after = "the rows of dataset 'orders' after transform 1 (select) do not have"
    assert errors == {
        f"{G}.expectations.0.rule": f"names column 'amount', which {after}",
        f"{G}.expectations.1.rule": f"names column 'placed_at', which {after}",
    }


def test_step_expressions_are_parsed_and_checked(tmp_path: Path) -> None:
    gold = {
        "transforms": [
            {"dedupe": {"keys": ["order_id", "order_no"], "order_by": ["placed_at desc", "amout"]}},
            {"filter": "amount >"},
            {"derive": {"x": "amount +* 2", "y": "lower(stat)"}},
            {"fill": {"values": {"staus": "unknown"}}},
            {"replace": {"column": "email", "values": {"a": "b"}}},
            {"rename": {"missing": "other"}},
        ]
    }
    errors = _errors(tmp_path, gold)
    t = f"{G}.transforms"
    assert errors[f"{t}.0.dedupe.keys.1"].startswith("names column 'order_no', which the rows")
    assert errors[f"{t}.0.dedupe.order_by.1"].endswith("do not have; did you mean 'amount'?")
    assert errors[f"{t}.1.filter"].startswith("'amount >' does not parse as Spark SQL: incomplete expression")
    assert errors[f"{t}.2.derive.x"].startswith("'amount +* 2' does not parse as Spark SQL")
    assert errors[f"{t}.2.derive.y"].endswith("did you mean 'status'?")
    assert errors[f"{t}.3.fill.values.staus"].endswith("did you mean 'status'?")
    assert errors[f"{t}.4.replace.column"] == "names column 'email', which silver drops (pii: drop)"
    assert errors[f"{t}.5.rename.missing"].startswith("names column 'missing', which the rows")
    assert len(errors) == 8


def test_partition_and_scd2_columns_are_checked(tmp_path: Path) -> None:
    gold = {
        "mode": "scd2",
        "partition_by": ["placed_day"],
        "scd2": {"track": ["status", "amount_eur"], "effective_from": "placed"},
    }
    errors = _errors(tmp_path, gold)
    assert set(errors) == {f"{G}.partition_by.0", f"{G}.scd2.track.1", f"{G}.scd2.effective_from"}
    assert errors[f"{G}.scd2.effective_from"].endswith("did you mean 'placed_at'?")
    assert "columns of gold table 'orders'" in errors[f"{G}.partition_by.0"]
    # Without effective_from, versions are ordered by _ingested_at: a select must keep it.
    gold = {"mode": "scd2", "transforms": [{"select": ["order_id", "status"]}]}
    assert _errors(tmp_path, gold) == {
        f"{G}.mode": "scd2 orders versions by _ingested_at when scd2.effective_from is not set, "
        "and the transforms removed that column"
    }


def _gold_node(spec: dict[str, Any]) -> Node:
    return Node(spec, ("datasets", "orders", "gold"), Origins("p.yml"))


def test_change_feed_columns_are_checked() -> None:
    # config/cdc is on main but not yet read from pipeline files: the gold spec gets its block here.
    block = {
        "sequence_by": ["placed_at", "seq"],
        "operation": "op",
        "except_columns": ["_run_id", "batch"],
        "apply_as_deletes": "op = 'D' AND amout IS NULL",
        "apply_as_truncates": "op =",
    }
    raw = {"table": "orders", "mode": "merge", "keys": ["order_id"], "cdc": block, "partition_by": ["op"]}
    node = _gold_node(raw)
    spec = parse_gold(_gold_node({k: v for k, v in raw.items() if k != "cdc"}), "orders")
    spec = dataclasses.replace(spec, cdc=parse_cdc(node.child("cdc"), "merge", ("order_id",)))
    findings = Findings()
    silver = Scope(("order_id", "amount", "placed_at", "op", "_run_id"), "rows of dataset 'orders'")
    table = check_gold(findings.error, node, spec, silver)
    missing = "which the rows of dataset 'orders' do not have"
    assert {e.key_path.removeprefix(f"{G}."): e.message for e in findings.errors} == {
        "cdc.sequence_by.1": f"names column 'seq', {missing}",
        "cdc.except_columns.1": f"names column 'batch', {missing}",
        "cdc.apply_as_deletes": f"names column 'amout', {missing}; did you mean 'amount'?",
        "cdc.apply_as_truncates": "'op =' does not parse as Spark SQL: incomplete expression: '=' is missing "
        "an operand at line 1, column 4",
        "partition_by.0": "names column 'op', which cdc keeps out of gold (operation / except_columns)",
    }
    assert table.columns == ("order_id", "amount", "placed_at")


DERIVED_SQL = """
WITH o AS (SELECT order_id, amount, to_date(placed_at) AS day FROM gold_orders)
SELECT day, count(*) AS orders, sum(amount) AS total FROM o GROUP BY day
"""


def _derived(sql: str, **extra: Any) -> list[dict[str, Any]]:
    return [{"name": "daily", "inputs": ["orders"], "sql": sql, "partition_by": ["day"], **extra}]


def test_derived_sql_is_checked_against_its_views(tmp_path: Path) -> None:
    gold: dict[str, Any] = {"transforms": [{"derive": {"placed_on": "to_date(placed_at)"}}]}
    rules = [{"name": "counted", "rule": "orders >= 1"}, {"name": "typo", "rule": "totl > 0"}]
    errors = _errors(tmp_path, gold, derived=_derived(DERIVED_SQL, keys=["day"], expectations=rules))
    assert errors == {
        "derived.0.expectations.1.rule": "names column 'totl', which the columns of derived table 'daily' "
        "do not have; did you mean 'total'?"
    }
    cases = {
        "SELECT placed_on, status FROM gold_orders JOIN silver_orders USING (order_id)": "column 'status' is "
        "ambiguous: silver_orders and gold_orders both have it; qualify it",
        "SELECT g.status FROM gold_ordrs g": "reads gold_ordrs, which is not a view of its inputs; did you "
        "mean 'gold_orders'? (views: silver_orders, gold_orders)",
        "SELECT email FROM silver_orders": "names column 'email', which none of the tables it reads has",
        "SELECT placed_on FROM gold_orders WHERE placed_on >": "does not parse as Spark SQL: incomplete "
        "expression: '>' is missing an operand at line 1, column 51",
    }
    for sql, message in cases.items():
        assert _errors(tmp_path, gold, derived=_derived(sql)) == {"derived.0.sql": message}, sql
    # Tables outside the pipeline (a catalog table) cannot be checked: nothing is reported.
    outside = "SELECT o.day, c.region FROM main.crm.customers c JOIN gold_orders o ON c.id = o.order_id"
    assert _errors(tmp_path, gold, derived=_derived(outside)) == {}


def test_json_lists_a_load_error_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from lakehouse.cli import main

    path = _pipeline(tmp_path, {"mode": "sideways"})
    assert main(["validate-config", "--config", str(path), "--env", "", "--json"]) == 2
    [error] = json.loads(capsys.readouterr().out)
    assert error["file"] == str(path) and error["key_path"] == f"{G}.mode"
    assert error["message"].startswith("unsupported value (found 'sideways', expected one of merge, scd2")


def test_scope_secrets_warn_in_validate_and_stop_a_run_off_databricks(tmp_path: Path, monkeypatch) -> None:
    from lakehouse.cli import main

    monkeypatch.delenv("DATABRICKS_RUNTIME_VERSION", raising=False)
    monkeypatch.delenv("LAKEHOUSE_SECRET_VAULT_SALT", raising=False)
    contract = {
        "columns": [{"name": "id"}, {"name": "mail", "pii": "hash"}],
        "pii_salt": {"secret": {"scope": "vault", "key": "salt"}},
    }
    path = _pipeline(tmp_path)
    tree = yaml.safe_load(path.read_text())
    tree["datasets"]["orders"]["contract"] = contract
    path.write_text(yaml.safe_dump(tree))
    config = load_config(path, None)
    findings = check_pipeline(config)
    assert findings.errors == []
    [warning] = findings.warnings
    assert warning.key_path == "datasets.orders.contract.pii_salt"
    assert "LAKEHOUSE_SECRET_VAULT_SALT is not set" in warning.message
    assert main(["validate-config", "--config", str(path), "--env", ""]) == 0
    with pytest.raises(
        ConfigError, match="not on Databricks and environment variable LAKEHOUSE_SECRET_VAULT_SALT"
    ):
        preflight(config)
    monkeypatch.setenv("LAKEHOUSE_SECRET_VAULT_SALT", "s3cr3t-value")
    preflight(config)
    monkeypatch.delenv("LAKEHOUSE_SECRET_VAULT_SALT")
    monkeypatch.setenv("DATABRICKS_RUNTIME_VERSION", "15.4")  # there the scope itself is read
    assert check_pipeline(config).warnings == []
    preflight(config)


# -- agreement with Spark's own parser and analyzer ---------------------------------------------
SPARK_SCHEMA = (
    "order_id bigint, amount double, status string, comment string, `values` string, "
    "address struct<city:string,zip:string>, tags array<string>, placed_at timestamp"
)
SPARK_COLUMNS = ("order_id", "amount", "status", "comment", "values", "address", "tags", "placed_at")
EXPRESSIONS = {
    "amount > 0": "ok",
    "AMOUNT > 0 AND Status = 'x'": "ok",
    "comment IS NOT NULL AND values <> ''": "ok",  # keywords Spark reads as column names
    "address.city = 'x'": "ok",
    "exists(tags, t -> t = 'x') AND transform(tags, x -> upper(x))[0] = 'A'": "ok",
    "aggregate(tags, 0, (acc, x) -> acc + length(x)) > 3": "ok",
    "CAST(amount AS DECIMAL(10, 2)) BETWEEN 1 AND 2 OR status IN ('a', 'b') OR status RLIKE '^a'": "ok",
    "coalesce(amount, 0) >= 0 AND placed_at <= current_timestamp()": "ok",
    "CASE WHEN amount > 0 THEN 'p' ELSE 'n' END = date_format(placed_at, 'yyyy')": "ok",
    "amount > ": "parse",
    "upper(status = 'a'": "parse",
    "status = 'open": "parse",
    "": "parse",
    "SELECT amount FROM t": "parse",
    "amout > 0": "column",
    "upper(staus) = 'A'": "column",
    "t.amount > 0": "column",
    "exists(tagz, t -> t = 'x')": "column",
}


def _spark_verdict(spark: Any, df: Any, sql: str) -> str:
    from pyspark.errors import AnalysisException, ParseException
    from pyspark.sql import functions as F  # noqa: N812

    try:
        df.select(F.expr(sql)).schema  # noqa: B018 - parsed, then analysed (columns resolved)
    except ParseException:
        return "parse"
    except AnalysisException as exc:
        return "column" if "UNRESOLVED_COLUMN" in str(exc) else f"other: {exc}"
    return "ok"


def _our_verdict(sql: str) -> str:
    from lakehouse.config.sql import SqlError, parse_expression, unknown_columns

    try:
        tree = parse_expression(sql, SPARK_COLUMNS)
    except SqlError:
        return "parse"
    return "column" if unknown_columns(tree, SPARK_COLUMNS) else "ok"


# Where we deliberately differ: Spark reads a trailing keyword as the expression's alias
# (`amount >= 0 AS AND`), so the rule runs without its second half; we report it unfinished.
DIFFERENCES = {"amount >= 0 AND": ("ok", "parse")}


def test_expression_verdicts_agree_with_spark(spark: Any) -> None:
    df = spark.createDataFrame([], SPARK_SCHEMA)
    cases = [*EXPRESSIONS, *DIFFERENCES]
    verdicts = {sql: (_spark_verdict(spark, df, sql), _our_verdict(sql)) for sql in cases}
    assert verdicts == {**{sql: (expected, expected) for sql, expected in EXPRESSIONS.items()}, **DIFFERENCES}


QUERIES = {
    "SELECT o.order_id, count(*) AS n FROM gold_vc_orders o JOIN silver_vc_orders s "
    "ON o.order_id = s.order_id GROUP BY o.order_id": [],
    "WITH x AS (SELECT order_id, amount AS a FROM gold_vc_orders) SELECT order_id, a FROM x": [],
    "SELECT order_id, amont FROM gold_vc_orders": ["names column 'amont'"],
    "SELECT status FROM gold_vc_orders JOIN silver_vc_orders USING (order_id)": [
        "column 'status' is ambiguous"
    ],
    "SELECT order_id FROM gold_vc_order": ["reads gold_vc_order, which is not a view of its inputs"],
    "SELECT order_id FROM gold_vc_orders WHERE order_id >": ["does not parse as Spark SQL"],
}


def test_derived_query_verdicts_agree_with_spark(spark: Any) -> None:
    from lakehouse.config.columns import check_derived
    from lakehouse.config.gold import DerivedSpec

    views = {"gold_vc_orders": SPARK_COLUMNS, "silver_vc_orders": ("order_id", "status", "_ingested_at")}
    spark.createDataFrame([], SPARK_SCHEMA).createOrReplaceTempView("gold_vc_orders")
    spark.createDataFrame(
        [], "order_id bigint, status string, _ingested_at timestamp"
    ).createOrReplaceTempView("silver_vc_orders")
    try:
        for sql, problems in QUERIES.items():
            try:
                spark.sql(sql).schema  # noqa: B018 - parse and analysis, no job
                spark_fails = False
            except Exception:  # ParseException or AnalysisException
                spark_fails = True
            findings = Findings()
            spec = DerivedSpec(name="d", inputs=("vc_orders",), sql=sql)
            check_derived(findings.error, Node({"sql": sql}, ("derived", "0"), Origins("p.yml")), spec, views)
            messages = [e.message for e in findings.errors]
            assert spark_fails == bool(problems), sql
            assert len(messages) == len(problems) and all(
                m.startswith(p) for m, p in zip(messages, problems, strict=True)
            ), (sql, messages)
    finally:
        spark.catalog.dropTempView("gold_vc_orders")
        spark.catalog.dropTempView("silver_vc_orders")


def test_a_view_with_columns_spark_names_is_read_unchecked(tmp_path: Path) -> None:
    gold = {"transforms": [{"select": ["order_id", "upper(status)"]}]}
    sql = "SELECT order_id, `upper(status)` AS s FROM gold_orders"
    assert _errors(tmp_path, gold, derived=_derived(sql)) == {}
    # The view's name is still known: a misspelt one is reported.
    assert _errors(tmp_path, gold, derived=_derived("SELECT order_id FROM gold_order")) == {
        "derived.0.sql": "reads gold_order, which is not a view of its inputs; did you mean 'gold_orders'? "
        "(views: silver_orders, gold_orders)"
    }


def test_run_job_refuses_a_broken_config_before_spark(shipped: Path, monkeypatch) -> None:
    from lakehouse.orchestration import run_job

    monkeypatch.setenv("LAKEHOUSE_PII_SALT", "test-salt")
    _edit(shipped / "conf/pipelines/devices.yml", 'rule: "mem_mb > 0"', 'rule: "mem_mb >> "')
    lake = shipped / "lake"
    with pytest.raises(ConfigError) as caught:
        run_job(None, pipeline=str(shipped / "conf/pipelines/devices.yml"), env="local", root=str(lake))
    assert caught.value.key_path == "datasets.usage.gold.expectations.0.rule"
    assert caught.value.reason.startswith("'mem_mb >> ' does not parse as Spark SQL")
    assert not lake.exists()  # no session was asked for, nothing written


def test_doctor_reports_a_broken_rule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from lakehouse.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["init", "--name", "shop"]) == 0
    _edit(tmp_path / "conf/pipelines/shop.yml", 'rule: "currency is not null"', 'rule: "curency is not null"')
    capsys.readouterr()
    code = main(["doctor", "--config", "conf/pipelines/shop.yml", "--env", "local", "--json"])
    checks = {c["name"]: c for c in json.loads(capsys.readouterr().out)["checks"]}
    assert code == 1 and checks["config"]["status"] == "fail"
    assert checks["config"]["detail"] == (
        "conf/pipelines/shop.yml: datasets.orders.gold.expectations.1.rule: names column 'curency', "
        "which the rows of dataset 'orders' do not have; did you mean 'currency'?"
    )
    assert checks["config"]["fix"] == "lakehouse validate-config --config conf/pipelines/shop.yml lists them"


# -- drift policies (issue 11 parts 1-4) -------------------------------------------------------
U = "datasets.usage"
RESCUED = "rescued_data: quarantine"


def _add_to_contract(shipped: Path, lines: str) -> None:
    _edit(shipped / "conf/contracts/usage.yml", RESCUED, f"{RESCUED}\n{lines}")


POLICY_CASES = {
    "unknown on_new_columns": (
        "on_new_columns: add",
        "conf/contracts/usage.yml",
        f"{U}.contract.on_new_columns",
        "unsupported value (found 'add', expected one of warn, quarantine, fail, evolve)",
    ),
    "unknown on_missing_columns": (
        "on_missing_columns: evolve",
        "conf/contracts/usage.yml",
        f"{U}.contract.on_missing_columns",
        "unsupported value (found 'evolve', expected one of warn, quarantine, fail)",
    ),
    "unknown on_extra_fields": (
        "on_extra_fields: drop",
        "conf/contracts/usage.yml",
        f"{U}.contract.on_extra_fields",
        "unsupported value (found 'drop', expected one of quarantine, ignore)",
    ),
}


@pytest.mark.parametrize("case", list(POLICY_CASES))
def test_a_wrong_drift_policy_is_rejected_with_file_and_key_path(shipped: Path, case: str) -> None:
    line, file, key_path, message = POLICY_CASES[case]
    _add_to_contract(shipped, line)
    args = ["validate-config", "--config", "conf/pipelines/devices.yml", "--env", "local", "--json"]
    code, out, _ = probe(args, shipped, _env(**SALT))
    assert code == 2
    assert json.loads(out) == [{"file": file, "key_path": key_path, "message": message}]


def test_drift_policies_pass_and_evolve_needs_bronze_to_add_columns(shipped: Path) -> None:
    policies = "on_new_columns: evolve\non_missing_columns: quarantine\non_extra_fields: ignore"
    _add_to_contract(shipped, policies)
    args = ["validate-config", "--config", "conf/pipelines/devices.yml", "--env", "local", "--json"]
    code, out, _ = probe(args, shipped, _env(**SALT))
    assert code == 0
    assert json.loads(out)["warnings"] == []

    pipeline = shipped / "conf/pipelines/devices.yml"
    _edit(pipeline, "schema_evolution: addNewColumns", "schema_evolution: rescue")
    code, out, _ = probe(args, shipped, _env(**SALT))
    assert code == 2
    assert json.loads(out) == [
        {
            "file": "conf/contracts/usage.yml",
            "key_path": f"{U}.contract.on_new_columns",
            "message": "on_new_columns: evolve needs bronze to add new columns, but "
            "source.schema_evolution is rescue (new columns never reach bronze as columns) "
            "(found 'evolve', expected schema_evolution addNewColumns, or another on_new_columns)",
        }
    ]


def test_type_widening_is_refused_with_its_reason(shipped: Path) -> None:
    pipeline = shipped / "conf/pipelines/devices.yml"
    _edit(pipeline, "schema_evolution: addNewColumns", "schema_evolution: addNewColumnsWithTypeWidening")
    args = ["validate-config", "--config", "conf/pipelines/devices.yml", "--env", "local", "--json"]
    code, out, _ = probe(args, shipped, _env(**SALT))
    assert code == 2
    assert json.loads(out) == [
        {
            "file": "conf/pipelines/devices.yml",
            "key_path": f"{U}.source.schema_evolution",
            "message": "type widening is not supported: Delta's change data feed (how silver reads bronze) "
            "refuses the versions written before a column was widened; a file with a wider type is set "
            "aside naming the column and both types (found 'addNewColumnsWithTypeWidening', expected one "
            "of addNewColumns, rescue, failOnNewColumns, none)",
        }
    ]


# -- SLOs in the contract (issue 13 part 3) --------------------------------------------------------
S = "datasets.orders.contract.slo"
SLO_CASES = {
    "unknown key": (
        {"freshness": {"max_age": "26h"}, "latency": {"p99": "1s"}},
        f"{S}.latency",
        "unknown key 'latency' (found 'latency', expected one of freshness, volume)",
    ),
    "no objective": ({}, S, "declares no objective (found {}, expected freshness, volume or both)"),
    "unknown freshness key": (
        {"freshness": {"max_age": "26h", "colum": "placed_at"}},
        f"{S}.freshness.colum",
        "unknown key 'colum'; did you mean 'column'? (found 'colum', expected one of column, max_age)",
    ),
    "bad duration": (
        {"freshness": {"max_age": "26 hours"}},
        f"{S}.freshness.max_age",
        "is not a duration (found '26 hours', expected a duration such as 30s, 10m, 2h or 1d)",
    ),
    "missing max_age": (
        {"freshness": {"column": "placed_at"}},
        f"{S}.freshness.max_age",
        "is required (found None, expected a value)",
    ),
    "column outside the contract": (
        {"freshness": {"max_age": "2d", "column": "placed"}},
        f"{S}.freshness.column",
        "column 'placed' is not a contract column (found 'placed', expected one of order_id, amount, "
        "status, placed_at, email, address, tags)",
    ),
    "column without an age": (
        {"freshness": {"max_age": "2d", "column": "status"}},
        f"{S}.freshness.column",
        "column 'status' is of type string, so it has no age (found 'status', expected a timestamp or "
        "date column)",
    ),
    "volume without bounds": (
        {"volume": {}},
        f"{S}.volume",
        "needs min_rows, max_rows or both (found {}, expected {min_rows: N} and/or {max_rows: M})",
    ),
    "min above max": (
        {"volume": {"min_rows": 10, "max_rows": 5}},
        f"{S}.volume.min_rows",
        "is greater than max_rows (found 10, expected an integer <= 5)",
    ),
    "negative bound": (
        {"volume": {"max_rows": -1}},
        f"{S}.volume.max_rows",
        "is too small (found -1, expected an integer >= 0)",
    ),
}


def _with_slo(tmp_path: Path, slo: dict[str, Any], gold: dict[str, Any] | None = None) -> Path:
    path = _pipeline(tmp_path, gold)
    tree = yaml.safe_load(path.read_text())
    tree["datasets"]["orders"]["contract"]["slo"] = slo
    path.write_text(yaml.safe_dump(tree, sort_keys=False))
    return path


@pytest.mark.parametrize("case", list(SLO_CASES))
def test_a_wrong_slo_block_is_rejected_with_file_and_key_path(tmp_path: Path, case: str) -> None:
    slo, key_path, message = SLO_CASES[case]
    path = _with_slo(tmp_path, slo)
    with pytest.raises(ConfigError) as raised:
        load_config(path, None)
    assert Issue.of(raised.value) == Issue(str(path), key_path, message)


def test_slo_blocks_parse_and_a_gold_freshness_column_must_survive_gold(tmp_path: Path) -> None:
    slo = {"freshness": {"max_age": "90m", "column": "placed_at"}, "volume": {"min_rows": 1}}
    config = load_config(_with_slo(tmp_path, slo, gold={}), None)
    parsed = config.datasets["orders"].contract.slo
    assert (parsed.freshness.max_age_s, parsed.freshness.column, parsed.volume.max_rows) == (
        5400.0,
        "placed_at",
        None,
    )
    assert check_pipeline(config).errors == []

    # Gold selects the column away: the SLO (read from gold) could never be measured.
    config = load_config(
        _with_slo(tmp_path, slo, gold={"transforms": [{"select": ["order_id", "amount"]}]}), None
    )
    (issue,) = check_pipeline(config).errors
    assert (issue.file, issue.key_path) == (str(tmp_path / "p.yml"), f"{S}.freshness.column")
    assert issue.message == (
        "names column 'placed_at', which the columns of gold table 'orders' do not have "
        "(the freshness SLO is measured on gold)"
    )


def test_validate_config_reports_a_wrong_slo_without_spark(shipped: Path) -> None:
    _add_to_contract(shipped, "slo: {freshness: {max_age: 2x, column: event_ts}}")
    args = ["validate-config", "--config", "conf/pipelines/devices.yml", "--env", "local", "--json"]
    code, out, _ = probe(args, shipped, _env(**SALT))
    assert code == 2
    assert json.loads(out) == [
        {
            "file": "conf/contracts/usage.yml",
            "key_path": f"{U}.contract.slo.freshness.max_age",
            "message": "is not a duration (found '2x', expected a duration such as 30s, 10m, 2h or 1d)",
        }
    ]
    _edit(shipped / "conf/contracts/usage.yml", "max_age: 2x", "max_age: 26h")
    code, out, _ = probe(args, shipped, _env(**SALT))
    assert code == 0, out
