"""Expectations: parsing (no Spark), each rule kind with its threshold, the metrics table."""

from __future__ import annotations

import datetime as dt

import pytest

from lakehouse.config.expectations import Expectation, parse_expectation
from lakehouse.config.node import Node, Origins
from lakehouse.errors import ConfigError
from lakehouse.results import RunContext

SCHEMA = "device_id string, event_ts timestamp, mem_mb int, cpu_pct double"
T0 = dt.datetime(2026, 11, 1, 10, 0)


def _node(value: dict) -> Node:
    return Node(value, ("gold", "expectations", "0"), Origins("devices.yml"))


def test_parse_row_and_aggregate_rules():
    row = parse_expectation(_node({"name": "m", "rule": "mem_mb > 0", "action": "drop", "threshold": 0.1}))
    assert (row.kind, row.rule, row.action, row.threshold) == ("row", "mem_mb > 0", "drop", 0.1)
    uniq = parse_expectation(_node({"name": "u", "unique": ["device_id"], "action": "fail"}))
    assert (uniq.kind, uniq.params, uniq.threshold) == ("unique", {"columns": ["device_id"]}, None)
    fresh = parse_expectation(_node({"name": "f", "freshness": {"column": "event_ts", "max_age": "2h"}}))
    assert fresh.params == {"column": "event_ts", "max_age": "2h"} and fresh.action == "warn"


@pytest.mark.parametrize(
    "value, message",
    [
        ({"name": "x", "rule": "a > 0", "unique": ["a"]}, "exactly one rule kind"),
        ({"name": "x", "unique": ["a"], "action": "drop"}, "drop applies to row rules only"),
        ({"name": "x", "freshness": {"column": "ts"}}, "missing keys \\['max_age'\\]"),
        ({"name": "x", "references": {"columns": ["a"]}}, "needs a table"),
        ({"name": "x", "rule": "a > 0", "threshold": 2}, "out of range"),
    ],
)
def test_parse_errors_are_located(value, message):
    with pytest.raises(ConfigError, match=message) as info:
        parse_expectation(_node(value))
    assert info.value.file == "devices.yml"


def _usage(spark):
    rows = [
        ("d1", T0, 100, 10.0),
        ("d2", T0, -5, None),
        ("d3", T0 - dt.timedelta(hours=5), None, 50.0),
        ("d1", T0, 200, 99.5),
    ]
    return spark.createDataFrame(rows, SCHEMA)


def _eval(spark, df, *rules, **kw):
    from lakehouse.quality.evaluate import evaluate

    return {r.rule: r for r in evaluate(df, rules, keys=["device_id", "event_ts"], **kw)}


def test_row_rules_one_pass_null_counts_as_failed_and_thresholds(spark):
    df = _usage(spark)
    out = _eval(
        spark,
        df,
        Expectation("mem", "row", "fail", rule="mem_mb > 0"),
        Expectation("mem_loose", "row", "fail", rule="mem_mb > 0", threshold=0.5),
        Expectation("cpu", "row", "warn", rule="cpu_pct < 99"),
    )
    mem = out["mem"]
    assert (mem.rows_checked, mem.rows_failed, mem.passed, mem.tripped) == (4, 2, False, True)
    assert sorted(mem.sample_keys) == ["d2|2026-11-01 10:00:00", "d3|2026-11-01 05:00:00"]
    assert out["mem_loose"].passed and not out["mem_loose"].tripped  # 2/4 <= 0.5
    cpu = out["cpu"]
    assert (cpu.rows_failed, cpu.passed, cpu.tripped) == (2, False, False)  # warn never stops


def test_sample_keys_are_the_first_keys_of_each_failing_rule(spark):
    # 12 devices: mem_mb fails for 9 of them, cpu_pct is NULL for one, battery never fails.
    rows = [(f"d{i:02d}", T0, -1 if i % 4 else 100, None if i == 7 else 1.0) for i in range(12)]
    df = spark.createDataFrame(rows, SCHEMA).repartition(3)
    out = _eval(
        spark,
        df,
        Expectation("mem", "row", "warn", rule="mem_mb > 0"),
        Expectation("cpu_known", "null_ratio", "warn", params={"column": "cpu_pct", "max": 0.0}),
        Expectation("device", "row", "warn", rule="device_id is not null"),
    )
    ts = "2026-11-01 10:00:00"
    assert out["mem"].rows_failed == 9
    assert out["mem"].sample_keys == [f"d{i:02d}|{ts}" for i in (1, 2, 3, 5, 6)]  # 5 smallest keys
    assert (out["cpu_known"].rows_failed, out["cpu_known"].sample_keys) == (1, [f"d07|{ts}"])
    assert (out["device"].rows_failed, out["device"].sample_keys) == (0, [])


def test_drop_rule_trips_only_with_an_explicit_threshold(spark):
    df = _usage(spark)
    out = _eval(
        spark,
        df,
        Expectation("d", "row", "drop", rule="mem_mb > 0"),
        Expectation("d_capped", "row", "drop", rule="mem_mb > 0", threshold=0.25),
    )
    assert out["d"].rows_failed == 2 and not out["d"].tripped
    assert out["d_capped"].tripped


def test_row_count_null_ratio_and_generic_aggregate(spark):
    df = _usage(spark)
    out = _eval(
        spark,
        df,
        Expectation("rows", "row_count", "fail", params={"min": 1, "max": 3}),
        Expectation("nulls", "null_ratio", "warn", params={"column": "cpu_pct", "max": 0.3}),
        Expectation("nulls_ok", "null_ratio", "warn", params={"column": "cpu_pct", "max": 0.25}),
        Expectation("agg", "aggregate", "fail", params={"value": "max(mem_mb) >= 200"}),
        Expectation("agg_bad", "aggregate", "fail", params={"value": "avg(cpu_pct) > 90"}),
    )
    assert (out["rows"].passed, out["rows"].observed) == (False, "4")
    assert out["nulls"].passed and out["nulls"].rows_failed == 1
    assert out["nulls_ok"].passed  # 1/4 == 0.25 is allowed
    assert out["agg"].passed and not out["agg_bad"].passed and out["agg_bad"].tripped


def test_freshness_against_reference_time(spark):
    df = _usage(spark)
    rule = Expectation("fresh", "freshness", "fail", params={"column": "event_ts", "max_age": "2h"})
    fresh = _eval(spark, df, rule, now=(T0 + dt.timedelta(hours=1)).replace(tzinfo=dt.timezone.utc))
    stale = _eval(spark, df, rule, now=(T0 + dt.timedelta(hours=3)).replace(tzinfo=dt.timezone.utc))
    assert fresh["fresh"].passed and not stale["fresh"].passed


def test_unique_reports_duplicated_keys_with_counts(spark):
    df = _usage(spark)
    out = _eval(
        spark,
        df,
        Expectation("u", "unique", "fail", params={"columns": ["device_id", "event_ts"]}),
        Expectation(
            "u_loose", "unique", "fail", threshold=0.5, params={"columns": ["device_id", "event_ts"]}
        ),
    )
    assert (out["u"].rows_failed, out["u"].passed) == (2, False)
    assert out["u"].sample_keys == ["d1|2026-11-01 10:00:00 (x2)"]
    assert out["u_loose"].passed


def test_references_against_a_gold_table(spark, tmp_path):
    from lakehouse.gold.wap import read_references

    devices = str(tmp_path / "devices")
    spark.createDataFrame([("d1",), ("d2",)], "id string").write.format("delta").save(devices)
    df = _usage(spark)
    rule = Expectation(
        "ref",
        "references",
        "fail",
        params={"columns": ["device_id"], "table": "devices", "to_columns": ["id"]},
    )
    references = read_references(spark, [rule], lambda name: str(tmp_path / name))
    out = _eval(spark, df, rule, references=references)
    assert (out["ref"].rows_failed, out["ref"].sample_keys, out["ref"].passed) == (
        1,
        ["d3|2026-11-01 05:00:00"],
        False,
    )


def test_bad_rule_sql_is_a_config_error(spark):
    with pytest.raises(ConfigError, match="cannot be evaluated"):
        _eval(spark, _usage(spark), Expectation("x", "row", "fail", rule="no_such_col > 0"))


def test_results_are_appended_to_the_metrics_table(spark, tmp_path):
    from lakehouse.io.metrics import write_metrics
    from lakehouse.results import RuleResult

    path = str(tmp_path / "_expectations")
    ctx = RunContext(run_id="r1", pipeline="devices")
    write_metrics(
        spark, [RuleResult("mem", "row", "drop", 4, 2, False, 0.0, ["d2"])], path, ctx, "usage", "/gold/usage"
    )
    row = spark.read.format("delta").load(path).collect()[0]
    assert (
        row.run_id,
        row.dataset,
        row.rule,
        row.action,
        row.rows_checked,
        row.rows_failed,
        row.passed,
        row.sample_keys,
    ) == ("r1", "usage", "mem", "drop", 4, 2, False, ["d2"])
