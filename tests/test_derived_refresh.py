"""``refresh: partitions``: a derived table recomputes only the days its inputs' changes reach.

The sample's ``daily_device_usage`` (usage joined with the SCD2 configuration, one row per
device and day, partitioned by ``usage_date``). After each change the table must equal the
SQL computed from scratch over the gold tables, and the commit must have touched only the
partitions the change reaches: a new event, an erased day, a configuration change.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from chispa import assert_df_equality

from lakehouse import publish, publish_derived
from lakehouse.config.model import load_config
from lakehouse.results import RunContext
from silver_schemas import CONFIG, USAGE

DAY = dt.datetime(2026, 11, 1)
CTX = RunContext(run_id="run-1", pipeline="devices")


def _usage(device, day, hour, cpu=10.0):
    return (
        device,
        DAY + dt.timedelta(days=day, hours=hour),
        "mail",
        cpu,
        100,
        50,
        "wifi",
        "h",
        None,
        "f",
        DAY,
        "s",
    )


def _config(device, day, hour, os_version):
    ts = DAY + dt.timedelta(days=day, hours=hour)
    return (device, ts, os_version, "nimbus", True, 40, ["mail"], "c", ts, "s")


@pytest.fixture()
def config(repo_root, tmp_path):
    return load_config(
        repo_root / "conf/pipelines/devices.yml",
        environ={"LAKEHOUSE_ROOT": str(tmp_path), "LAKEHOUSE_LANDING": str(tmp_path)},
    )


def _land(spark, config, name, rows, schema):
    df = spark.createDataFrame(rows, schema)
    df.write.format("delta").mode("append").save(config.dataset(name).silver_path)
    assert publish(spark, config.dataset(name), config, CTX).status == "succeeded"


def _from_scratch(spark, config):
    """The derived SQL over the gold tables as they are now, without the library's refresh."""
    for view, table in (("gold_usage", "usage"), ("gold_device_config_history", "device_config_history")):
        spark.read.format("delta").load(config.storage.table("gold", table)).createOrReplaceTempView(view)
    return spark.sql(config.derived[0].sql)


def _check(spark, config):
    daily = spark.read.format("delta").load(config.storage.table("gold", "daily_device_usage"))
    expected = _from_scratch(spark, config)
    assert_df_equality(daily.select(*expected.columns), expected, ignore_row_order=True, ignore_nullable=True)


def _last_commit_partitions(config) -> set[str]:
    """The partition folders of the files the derived table's latest commit added or removed."""
    log = Path(config.storage.table("gold", "daily_device_usage")) / "_delta_log"
    latest = max(log.glob("[0-9]*.json"), key=lambda f: int(f.stem))
    lines = latest.read_text().splitlines()
    files = [a.get("add") or a.get("remove") for a in map(json.loads, lines)]
    return {f["path"].split("/")[0] for f in files if f}


def test_only_the_partitions_changes_reach_are_recomputed(spark, config):
    spec = config.derived[0]
    _land(spark, config, "usage", [_usage(d, day, 9) for d in ("dev-1", "dev-2") for day in range(3)], USAGE)
    _land(
        spark, config, "device_config", [_config("dev-1", 0, 0, "os1"), _config("dev-2", 0, 0, "os1")], CONFIG
    )
    first = publish_derived(spark, spec, config, CTX)
    assert (first.details["refresh"], first.rows_written) == ("full", 6)
    _check(spark, config)

    # A new event on the second day: that day only.
    _land(spark, config, "usage", [_usage("dev-2", 1, 15, cpu=70.0)], USAGE)
    second = publish_derived(spark, spec, config, CTX)
    assert (second.details["refresh"], second.rows_read, second.rows_written) == ({"partitions": 1}, 2, 2)
    assert _last_commit_partitions(config) == {"usage_date=2026-11-02"}
    _check(spark, config)

    # Every event of the first day erased from gold (as `lakehouse forget` would): the day is
    # emptied, not left as it was. The DELETE rewrote gold's one file, which holds every day:
    # a rewritten file counts whole, so the three days are recomputed (two of them unchanged).
    usage = config.storage.table("gold", "usage")
    spark.sql(f"DELETE FROM delta.`{usage}` WHERE to_date(event_ts) = DATE'2026-11-01'")
    third = publish_derived(spark, spec, config, CTX)
    assert (third.details["refresh"], third.rows_written) == ({"partitions": 3}, 4)
    assert _last_commit_partitions(config) == {f"usage_date=2026-11-0{d}" for d in (1, 2, 3)}
    _check(spark, config)
    daily = spark.read.format("delta").load(config.storage.table("gold", "daily_device_usage"))
    assert {r.usage_date.day for r in daily.select("usage_date").collect()} == {2, 3}

    # dev-1 upgrades on the third day at 08:00: the SCD2 history rewrites dev-1's version (its
    # file: both devices' rows) and adds the new one. Every day either device has events on is
    # recomputed (a rewritten file counts whole), and the third day shows os2 for dev-1.
    _land(spark, config, "device_config", [_config("dev-1", 2, 8, "os2")], CONFIG)
    fourth = publish_derived(spark, spec, config, CTX)
    assert fourth.details["refresh"] == {"partitions": 2}
    _check(spark, config)
    upgraded = daily.where("device_id = 'dev-1' AND usage_date = DATE'2026-11-03'").collect()
    assert [r.os_version for r in upgraded] == ["os2"]

    # Nothing new: skipped as before.
    assert publish_derived(spark, spec, config, CTX).details == {"skipped": "inputs unchanged"}
