"""The gold layer end to end on the sample pipeline's config: incremental publish, rerun, derived."""

from __future__ import annotations

import datetime as dt

import pytest
from chispa import assert_df_equality

from lakehouse import publish, publish_derived
from lakehouse.config.model import load_config
from lakehouse.errors import QualityError
from lakehouse.gold.derived import SKIP_REASON
from lakehouse.io.delta import table_version
from lakehouse.results import RunContext
from silver_schemas import CONFIG, USAGE

DAY = dt.datetime(2026, 11, 1)
CTX = RunContext(run_id="run-1", pipeline="devices")


def _t(hour, day=0):
    return DAY + dt.timedelta(days=day, hours=hour)


def _usage(device, hour, app="Mail", cpu=10.0, mem=100, network="WiFi", ingested=0, day=0):
    return (device, _t(hour, day), app, cpu, mem, 50, network, "hash", None, "f.csv", _t(ingested, 5), "s1")


def _config(device, hour, os_version, model="nimbus-s", day=0):
    return (device, _t(hour, day), os_version, model, True, 40, ["mail"], "c.json", _t(0, 5), "s1")


@pytest.fixture()
def config(repo_root, tmp_path):
    return load_config(
        repo_root / "conf/pipelines/devices.yml",
        environ={"LAKEHOUSE_ROOT": str(tmp_path), "LAKEHOUSE_LANDING": str(tmp_path)},
    )


def _land_silver(spark, config, name, rows, schema):
    df = spark.createDataFrame(rows, schema)
    df.write.format("delta").mode("append").save(config.dataset(name).silver_path)


def _gold(spark, config, table):
    return spark.read.format("delta").load(config.storage.table("gold", table))


def test_publish_is_incremental_and_a_rerun_changes_nothing(spark, config):
    usage = config.dataset("usage")
    _land_silver(
        spark,
        config,
        "usage",
        [
            _usage("dev-00001", 10, mem=10),
            _usage("dev-00001", 10, mem=12, ingested=1),
            _usage("dev-00002", 10, mem=-1),
            _usage("dev-00003", 11, app=" Chat  App", network=None),
        ],
        USAGE,
    )
    first = publish(spark, usage, config, CTX)
    assert (first.rows_read, first.rows_dropped, first.rows_written) == (4, 2, 2)
    assert first.details["rules"]["memory_positive"]["rows_failed"] == 1
    gold_path = config.storage.table("gold", "usage")
    version = table_version(spark, gold_path)
    rows = _gold(spark, config, "usage").collect()
    assert sorted((r.device_id, r.app, r.mem_mb, r.network) for r in rows) == [
        ("dev-00001", "mail", 12, "wifi"),
        ("dev-00003", "chat app", 100, "unknown"),
    ]

    rerun = publish(spark, usage, config, CTX)
    assert (rerun.rows_read, rerun.rows_written, rerun.table_version) == (0, 0, version)
    assert table_version(spark, gold_path) == version

    _land_silver(
        spark, config, "usage", [_usage("dev-00004", 9, day=1), _usage("dev-00003", 11, mem=7)], USAGE
    )
    third = publish(spark, usage, config, CTX)
    assert (third.rows_read, third.rows_written) == (2, 2)
    assert _gold(spark, config, "usage").count() == 3


def test_failing_expectation_keeps_gold_and_is_retried(spark, config):
    usage = config.dataset("usage")
    _land_silver(spark, config, "usage", [_usage("dev-00001", 10)], USAGE)
    publish(spark, usage, config, CTX)
    gold_path = config.storage.table("gold", "usage")
    before = table_version(spark, gold_path)
    _land_silver(spark, config, "usage", [_usage(f"dev-0001{i}", 10, cpu=99.9) for i in range(4)], USAGE)
    for _ in range(2):  # the failed batch is not committed: the next run meets it again
        with pytest.raises(QualityError, match="cpu_plausible") as info:
            publish(spark, usage, config, CTX)
        result = info.value.result
        assert (result.status, result.rows_read, result.table_version) == ("failed", 4, before)
        assert result.details["rules"]["cpu_plausible"]["rows_failed"] == 4
        assert table_version(spark, gold_path) == before


def test_derived_daily_usage_joins_the_configuration_valid_at_the_time(spark, config):
    _land_silver(
        spark,
        config,
        "usage",
        [
            _usage("dev-00001", 10, cpu=10.0, mem=100),
            _usage("dev-00001", 12, cpu=20.0, mem=300),
            _usage("dev-00001", 8, day=1, cpu=30.0),
            _usage("dev-00002", 9, cpu=50.0),
        ],
        USAGE,
    )
    _land_silver(
        spark,
        config,
        "device_config",
        [
            _config("dev-00001", 9, "os1"),
            _config("dev-00001", 11, "os2", "nimbus-pro"),
            _config("dev-00001", 11, "os2", "nimbus-pro", day=1),
        ],
        CONFIG,
    )  # unchanged: no new version
    for name in ("usage", "device_config"):
        assert publish(spark, config.dataset(name), config, CTX).status == "succeeded"
    history = _gold(spark, config, "device_config_history")
    assert sorted((r.os_version, r.is_current) for r in history.collect()) == [("os1", False), ("os2", True)]
    spec = config.derived[0]
    result = publish_derived(spark, spec, config, CTX)
    assert (result.rows_read, result.rows_written) == (3, 3)
    rows = [
        ("dev-00001", dt.date(2026, 11, 1), 2, 15.0, 300, 50, "os2", "nimbus-pro"),
        ("dev-00001", dt.date(2026, 11, 2), 1, 30.0, 100, 50, "os2", "nimbus-pro"),
        ("dev-00002", dt.date(2026, 11, 1), 1, 50.0, 100, 50, None, None),
    ]
    _assert_daily(spark, config, rows)

    # A new usage event of an existing device-day: the derived table really recomputes, and the
    # recomputed partitions replace the old rows instead of adding to them. The sample's
    # `refresh: partitions` recomputes only that day: its 2 device rows.
    _land_silver(spark, config, "usage", [_usage("dev-00001", 13, cpu=60.0, mem=500)], USAGE)
    assert publish(spark, config.dataset("usage"), config, CTX).rows_written == 1
    again = publish_derived(spark, spec, config, CTX)
    assert again.details.get("skipped") != SKIP_REASON
    assert again.details["refresh"] == {"partitions": 1}
    assert (again.rows_read, again.rows_written) == (2, 2)
    rows[0] = ("dev-00001", dt.date(2026, 11, 1), 3, 30.0, 500, 50, "os2", "nimbus-pro")
    _assert_daily(spark, config, rows)


def _assert_daily(spark, config, rows):
    expected = spark.createDataFrame(
        rows,
        "device_id string, usage_date date, events long, avg_cpu_pct double, max_mem_mb int, "
        "min_battery_pct int, os_version string, model string",
    )
    actual = _gold(spark, config, "daily_device_usage").select(*expected.columns)
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


def test_spark_errors_in_derived_sql_become_publish_errors(spark, config):
    from lakehouse.config.gold import DerivedSpec
    from lakehouse.errors import PublishError

    spec = DerivedSpec(name="broken", inputs=(), sql="SELECT no_such_column", mode="append")
    with pytest.raises(PublishError, match="gold broken: AnalysisException") as info:
        publish_derived(spark, spec, config, CTX)
    assert (info.value.result.status, info.value.result.table_version) == ("failed", None)


def test_derived_sql_runs_as_a_subquery_only(spark, config, tmp_path):
    # A spec built in code skips the config check: Spark itself must refuse a statement.
    from lakehouse.config.gold import DerivedSpec
    from lakehouse.errors import PublishError

    victim = str(tmp_path / "victim")
    spark.range(3).write.format("delta").save(victim)
    for sql in (f"DROP TABLE delta.`{victim}`", f"SELECT 1 AS x; DELETE FROM delta.`{victim}`"):
        spec = DerivedSpec(name="evil", inputs=(), sql=sql, mode="append")
        with pytest.raises(PublishError, match="ParseException"):
            publish_derived(spark, spec, config, CTX)
    assert spark.read.format("delta").load(victim).count() == 3
    # A query with a CTE and a trailing comment still works as a subquery.
    spec = DerivedSpec(
        name="cte", inputs=(), sql="WITH t AS (SELECT 1 AS x) SELECT x FROM t -- done", mode="append"
    )
    assert publish_derived(spark, spec, config, CTX).rows_written == 1
