"""The whole sample pipeline from landing to gold, against expected rows committed in tests.

One pipeline run (module fixture ``sample_run``) and one rerun (``rerun``) feed every test of
this module: a run of the sample takes a while on a 2-core CI machine.

How the expected data was derived and verified
-----------------------------------------------
``tests/data/expected/daily_device_usage.csv`` and ``device_config_history.csv`` were written
once from a run of this pipeline, after checking that run against ``samples/MANIFEST.json`` and
the landing files; ``test_expected_files_agree_with_the_samples`` repeats that check on every
test run, in plain Python (no Spark), so the files are not a blind snapshot:

* usage: a landed row reaches gold unless the manifest lists it as a defect silver quarantines
  (``bad_type``, ``bad_timestamp``, ``out_of_range``, ``bad_pattern``, ``too_many_fields``,
  ``too_few_fields``, ``duplicate``) or the gold drop rule ``mem_mb > 0`` removes it (the
  ``negative_value`` row and the row whose ``mem_mb`` is empty). From those rows the check
  recomputes, per device and day, the event count, max ``mem_mb``, min ``battery_pct``, the
  exact average ``cpu_pct`` (null tokens ignored; decimal, rounded half up to 2 places) and
  the ``os_version``/``model`` of the latest configuration snapshot at or before the device's
  last event of the day; 40 devices x 3 days.
* device_config_history: the record without ``device_id`` and the one with model ``??`` are
  quarantined by silver. Each of the 7 ``device_config_changes`` appears as a closed version
  (old os_version, ``valid_to`` = the new snapshot's time) followed by a version with the new
  os_version starting at that time; the ``equivalent_representation`` device (power_saving
  ``0`` vs ``no``) has a single version. One more version exists, and is expected: dev-00005's
  day-1 snapshot has the null token ``NA`` as ``brightness_pct`` (a planted defect), so its
  tracked brightness goes from NULL to 86 on day 2. Every other device has one version.
* usage gold: the rows of one device-day are derived from the same landed rows, with gold's
  cleansing steps (standardize app and network to lower case, fill a missing network with
  ``unknown``) redone in plain Python.

The landed-rows derivation is :func:`lakehouse.testing.gold_usage_rows`, which the end-to-end
Nutter fixture uses as well.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession

from lakehouse import testing
from lakehouse.config.model import PipelineConfig, load_config
from lakehouse.gold.derived import SKIP_REASON, publish_derived
from lakehouse.io.delta import table_version
from lakehouse.pipeline import run_pipeline
from lakehouse.results import RunContext, RunSummary
from lakehouse.testing import NULL_TOKENS

EXPECTED = Path(__file__).resolve().parent / "data" / "expected"
GOLD_TABLES = ("usage", "device_config_history", "daily_device_usage")

COLUMNS = (
    "device_id string, event_ts timestamp, app string, cpu_pct double, mem_mb int, "
    "battery_pct int, network string"
)
DAILY_SCHEMA = (
    "device_id string, usage_date string, events long, avg_cpu_pct double, "
    "max_mem_mb int, min_battery_pct int, os_version string, model string"
)
HISTORY_SCHEMA = (
    "device_id string, snapshot_ts string, os_version string, model string, "
    "power_saving boolean, brightness_pct int, apps_installed array<string>, "
    "valid_from string, valid_to string, is_current boolean"
)
TS = "yyyy-MM-dd HH:mm:ss"


def _text(value: str) -> str | None:
    """A landed value as silver reads it: trimmed, a null token is NULL."""
    value = value.strip()
    return None if value in NULL_TOKENS else value


def _standardized(value: str | None) -> str | None:
    """Gold's ``standardize`` step (case lower): whitespace runs collapsed, trimmed, lower case."""
    return None if value is None else " ".join(value.split()).lower()


# Device-days whose gold usage rows are compared value by value: a clean one, and the ones
# holding the planted null tokens of app, battery_pct, network and cpu_pct.
DEVICE_DAYS = (
    ("dev-00007", "2026-11-01"),
    ("dev-00004", "2026-11-01"),
    ("dev-00024", "2026-11-01"),
    ("dev-00027", "2026-11-01"),
    ("dev-00032", "2026-11-02"),
)


def _expected_usage_gold(samples: Path) -> list[tuple[Any, ...]]:
    """Gold usage rows of :data:`DEVICE_DAYS`, from the landed rows and the gold steps."""
    out = []
    for row in testing.gold_usage_rows(samples):
        if (row["device_id"], row["event_ts"][:10]) not in DEVICE_DAYS:
            continue
        cpu, battery = _text(row["cpu_pct"]), _text(row["battery_pct"])
        out.append(
            (
                row["device_id"],
                dt.datetime.strptime(row["event_ts"], "%Y-%m-%d %H:%M:%S"),
                _standardized(_text(row["app"])),
                None if cpu is None else float(cpu),
                int(row["mem_mb"]),
                None if battery is None else int(battery),
                _standardized(_text(row["network"])) or "unknown",
            )
        )
    return out


# --- expected files and the plain-Python derivation from the sample files -------------------


def _read_csv(name: str) -> list[dict[str, str]]:
    with open(EXPECTED / name, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _none(value: str) -> str | None:
    return value if value != "" else None


def _int(value: str) -> int | None:
    return int(value) if value != "" else None


def _expected_daily() -> list[tuple[Any, ...]]:
    return [
        (
            r["device_id"],
            r["usage_date"],
            int(r["events"]),
            float(r["avg_cpu_pct"]),
            _int(r["max_mem_mb"]),
            _int(r["min_battery_pct"]),
            _none(r["os_version"]),
            _none(r["model"]),
        )
        for r in _read_csv("daily_device_usage.csv")
    ]


def _expected_history() -> list[tuple[Any, ...]]:
    return [
        (
            r["device_id"],
            r["snapshot_ts"],
            r["os_version"],
            _none(r["model"]),
            {"true": True, "false": False, "": None}[r["power_saving"]],
            _int(r["brightness_pct"]),
            r["apps_installed"].split("|") if r["apps_installed"] else [],
            r["valid_from"],
            _none(r["valid_to"]),
            r["is_current"] == "true",
        )
        for r in _read_csv("device_config_history.csv")
    ]


def _config_snapshots(samples: Path, manifest: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Configuration snapshots silver keeps (a device_id, a known model), per device by time."""
    by_device: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for entry in manifest["files"]:
        if entry["dataset"] == "device_config":
            for text in (samples / entry["path"]).read_text(encoding="utf-8").splitlines():
                record = json.loads(text)
                if record.get("device_id") and record["model"] in ("TX-100", "TX-200", "TX-300"):
                    by_device[record["device_id"]].append(record)
    return {d: sorted(s, key=lambda r: r["snapshot_ts"]) for d, s in by_device.items()}


def _number(value: str) -> float | None:
    return None if value in NULL_TOKENS else float(value)


def test_expected_files_agree_with_the_samples(samples: Path) -> None:
    """The committed expected rows follow from the sample files and the manifest (no Spark)."""
    manifest = testing.manifest(samples)
    groups: dict[tuple[str, str], list[dict[str, str]]] = defaultdict(list)
    for row in testing.gold_usage_rows(samples):
        groups[(row["device_id"], row["event_ts"][:10])].append(row)
    snapshots = _config_snapshots(samples, manifest)
    daily = {(r[0], r[1]): r for r in _expected_daily()}
    assert len(daily) == len(groups) == 120  # 40 devices x 3 days
    for key, rows in groups.items():
        _, events, avg_cpu, max_mem, min_battery, os_version, model = daily[key][1:]
        cpus = [r["cpu_pct"] for r in rows if r["cpu_pct"] not in NULL_TOKENS]
        batteries = [b for b in (_number(r["battery_pct"]) for r in rows) if b is not None]
        assert events == len(rows), key
        assert max_mem == max(int(r["mem_mb"]) for r in rows), key
        assert min_battery == min(batteries), key
        exact = sum(Decimal(c) for c in cpus) / len(cpus)  # the mean, rounded half up
        assert Decimal(str(avg_cpu)) == exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP), key
        last_event = max(r["event_ts"] for r in rows)
        valid = [s for s in snapshots[key[0]] if s["snapshot_ts"] <= last_event][-1]
        assert (os_version, model) == (valid["os_version"], valid["model"]), key

    history = _expected_history()
    versions: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for row in history:
        versions[row[0]].append(row)
    changes = manifest["device_config_changes"]
    assert len(changes) == 7 and len(versions) == 40
    for change in changes:
        rows = versions[change["device_id"]]
        new = next(r for r in rows if r[2] == change["new"])
        old = next(r for r in rows if r[2] == change["old"])
        assert new[7].startswith(change["day"]) and old[8] == new[7] and not old[9], change
    changed = {c["device_id"] for c in changes}
    equivalent = [d for d in manifest["defects"] if d["kind"] == "equivalent_representation"]
    assert len(equivalent) == 1
    (same_device,) = {
        json.loads(
            (samples / equivalent[0]["file"])
            .read_text(encoding="utf-8")
            .splitlines()[equivalent[0]["line"] - 1]
        )["device_id"]
    }
    assert len(versions[same_device]) == 1
    # dev-00005: brightness_pct "NA" (null token) on day 1, 86 afterwards -> one extra version.
    assert [r[5] for r in versions["dev-00005"]] == [None, 86]
    assert len(history) == 40 + len(changes) + 1
    for device, rows in versions.items():
        assert sum(r[9] for r in rows) == 1, device  # exactly one current version
        expected_versions = 1 + sum(c["device_id"] == device for c in changes) + (device == "dev-00005")
        assert len(rows) == expected_versions, device
    assert changed <= set(versions)


# --- one run of the sample pipeline and one rerun ---------------------------------------------


def _versions(spark: SparkSession, config: PipelineConfig) -> dict[str, int]:
    """The Delta version of every table under ``<root>/gold`` (side tables included)."""
    gold = Path(config.storage.table("gold", "x")).parent
    versions = {p.name: table_version(spark, str(p)) for p in sorted(gold.iterdir())}
    return {name: version for name, version in versions.items() if version is not None}


@pytest.fixture(scope="module")
def sample_run(
    spark: SparkSession, tmp_path_factory: pytest.TempPathFactory, repo_root: Path, samples: Path
) -> Iterator[tuple[PipelineConfig, RunSummary, dict[str, int]]]:
    """One run of the whole sample pipeline: (config, summary, gold table versions after it)."""
    root = tmp_path_factory.mktemp("sample_lakehouse")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LAKEHOUSE_PII_SALT", "test-salt")
        config = load_config(
            repo_root / "conf/pipelines/devices.yml",
            "local",
            overrides={"storage": {"root": str(root), "landing": str(samples / "landing")}},
        )
        summary = run_pipeline(spark, config, record=False)
        yield config, summary, _versions(spark, config)


@pytest.fixture(scope="module")
def rerun(spark: SparkSession, sample_run: tuple[PipelineConfig, RunSummary, dict[str, int]]) -> RunSummary:
    """The same pipeline run again with no new landing file."""
    config = sample_run[0]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LAKEHOUSE_PII_SALT", "test-salt")
        return run_pipeline(spark, config, record=False)


def _gold(spark: SparkSession, config: PipelineConfig, table: str) -> DataFrame:
    return spark.read.format("delta").load(config.storage.table("gold", table))


@pytest.mark.slow
def test_sample_run_succeeds_and_counts_add_up(
    sample_run: tuple[PipelineConfig, RunSummary, dict[str, int]], samples: Path
) -> None:
    _, summary, versions = sample_run
    assert summary.status == "succeeded", summary.to_dict()
    usage_silver, usage_gold = summary.result("usage", "silver"), summary.result("usage", "gold")
    assert usage_gold.rows_read == usage_silver.rows_written
    assert (
        usage_gold.rows_written
        == usage_gold.rows_read - usage_gold.rows_dropped
        == len(testing.gold_usage_rows(samples))
    )
    assert summary.result("device_config", "silver").rows_quarantined == 2  # no device_id, model ??
    derived = summary.result("daily_device_usage", "gold")
    assert (derived.rows_written, derived.table_version) == (120, versions["daily_device_usage"])
    assert set(GOLD_TABLES) <= set(versions)


@pytest.mark.slow
def test_sample_usage_gold_matches_expected(
    spark: SparkSession, sample_run: tuple[PipelineConfig, RunSummary, dict[str, int]], samples: Path
) -> None:
    config = sample_run[0]
    expected = _expected_usage_gold(samples)
    # The planted null tokens are among the rows compared: app, cpu and battery NULL, network filled.
    assert {None} <= {r[2] for r in expected} & {r[3] for r in expected} & {r[5] for r in expected}
    assert "unknown" in {r[6] for r in expected} and len(expected) > 40
    wanted = " or ".join(f"(device_id = '{d}' and to_date(event_ts) = '{day}')" for d, day in DEVICE_DAYS)
    actual = (
        _gold(spark, config, "usage").where(wanted).selectExpr(*[c.split()[0] for c in COLUMNS.split(", ")])
    )
    assert_df_equality(
        actual,
        spark.createDataFrame(expected, COLUMNS),
        ignore_row_order=True,
        ignore_nullable=True,
    )


@pytest.mark.slow
def test_sample_device_config_history_matches_expected(
    spark: SparkSession, sample_run: tuple[PipelineConfig, RunSummary, dict[str, int]]
) -> None:
    config = sample_run[0]
    actual = _gold(spark, config, "device_config_history").selectExpr(
        "device_id",
        f"date_format(snapshot_ts, '{TS}') as snapshot_ts",
        "os_version",
        "model",
        "power_saving",
        "brightness_pct",
        "apps_installed",
        f"date_format(valid_from, '{TS}') as valid_from",
        f"date_format(valid_to, '{TS}') as valid_to",
        "is_current",
    )
    expected = spark.createDataFrame(_expected_history(), HISTORY_SCHEMA)
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


@pytest.mark.slow
def test_sample_daily_device_usage_matches_expected(
    spark: SparkSession, sample_run: tuple[PipelineConfig, RunSummary, dict[str, int]]
) -> None:
    config = sample_run[0]
    actual = _gold(spark, config, "daily_device_usage").selectExpr(
        "device_id",
        "cast(usage_date as string) as usage_date",
        "events",
        "avg_cpu_pct",
        "max_mem_mb",
        "min_battery_pct",
        "os_version",
        "model",
    )
    expected = spark.createDataFrame(_expected_daily(), DAILY_SCHEMA)
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


@pytest.mark.slow
def test_sample_rerun_changes_no_gold_table_version(
    spark: SparkSession, sample_run: tuple[PipelineConfig, RunSummary, dict[str, int]], rerun: RunSummary
) -> None:
    config, _, before = sample_run
    assert rerun.status == "succeeded", rerun.to_dict()
    assert all(r.rows_written == 0 for r in rerun.results), rerun.to_dict()
    derived = rerun.result("daily_device_usage", "gold")
    assert derived.details == {"skipped": SKIP_REASON}
    assert derived.table_version == before["daily_device_usage"]
    assert _versions(spark, config) == before


@pytest.mark.slow
def test_sample_derived_republishes_when_one_input_changes(
    spark: SparkSession, sample_run: tuple[PipelineConfig, RunSummary, dict[str, int]], rerun: RunSummary
) -> None:
    """A new Delta version of one input (here a data-neutral property change) is looked at.

    The sample's ``refresh: partitions`` finds that it changed no data file: no partition to
    recompute, nothing written, the new input version recorded. The same definition with
    ``refresh: full`` recomputes every day. Runs after the rerun test: it adds a version to
    gold/usage.
    """
    config, _, before = sample_run
    usage = config.storage.table("gold", "usage")
    spark.sql(f"ALTER TABLE delta.`{usage}` SET TBLPROPERTIES ('lakehouse.test' = 'touched')")
    ctx = RunContext(run_id="test-derived-input-changed", pipeline=config.name, env=config.env)
    spec = config.derived[0]
    result = publish_derived(spark, spec, config, ctx)
    assert "skipped" not in result.details
    assert (result.details["refresh"], result.rows_written) == ({"partitions": 0}, 0)
    assert result.table_version == before["daily_device_usage"]
    state = Path(config.storage.checkpoint("gold", spec.name)) / "state.json"
    metadata = json.loads(state.read_text())["last"]
    assert metadata["table_version"] == result.table_version
    assert metadata["inputs"] == {
        "gold/usage": before["usage"] + 1,
        "gold/device_config_history": before["device_config_history"],
    }
    again = publish_derived(spark, spec, config, ctx)
    assert (again.details, again.table_version) == ({"skipped": SKIP_REASON}, result.table_version)
    full = publish_derived(spark, dataclasses.replace(spec, refresh="full"), config, ctx)
    assert (full.details["refresh"], full.rows_written) == ("full", 120)
    assert full.table_version == before["daily_device_usage"] + 1
