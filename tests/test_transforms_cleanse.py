"""Cleansing transforms: each one on a tiny DataFrame, compared with chispa."""

from __future__ import annotations

import datetime as dt

import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F  # noqa: N812

from lakehouse.config.gold import TransformStep
from lakehouse.transforms import cleanse
from lakehouse.transforms.steps import apply_steps


def test_standardize_trims_collapses_and_lowercases(spark):
    df = spark.createDataFrame(
        [("  Mail  App ", " WiFi", 1), (None, "4G ", 2)], "app string, network string, n int"
    )
    out = cleanse.with_standardized_strings(df, ["app", "network"], case="lower")
    expected = spark.createDataFrame(
        [("mail app", "wifi", 1), (None, "4g", 2)], "app string, network string, n int"
    )
    assert_df_equality(out, expected, ignore_row_order=True)


def test_standardize_all_string_columns_upper_and_empty_as_null(spark):
    df = spark.createDataFrame([(" a ", "   ")], "x string, y string")
    out = cleanse.with_standardized_strings(df, case="upper", empty_as_null=True)
    assert_df_equality(out, spark.createDataFrame([("A", None)], "x string, y string"))


def test_standardize_rejects_unknown_case(spark):
    df = spark.createDataFrame([("a",)], "x string")
    with pytest.raises(ValueError, match="case must be one of"):
        cleanse.with_standardized_strings(df, case="shout")


def test_dedupe_keeps_latest_by_order_expression(spark):
    df = spark.createDataFrame(
        [("d1", 1, "old", 1), ("d1", 1, "new", 2), ("d2", 1, "only", 1), ("d1", 2, "other", 1)],
        "id string, k int, v string, seq int",
    )
    out = cleanse.dedupe_latest(df, ["id", "k"], "seq desc, v")
    expected = spark.createDataFrame(
        [("d1", 1, "new", 2), ("d2", 1, "only", 1), ("d1", 2, "other", 1)],
        "id string, k int, v string, seq int",
    )
    assert_df_equality(out, expected, ignore_row_order=True)


def test_fill_and_replace(spark):
    df = spark.createDataFrame([(None, "wlan", None), ("5g", "x", 3)], "network string, raw string, n int")
    out = cleanse.with_filled(df, {"network": "unknown", "n": 0})
    out = cleanse.with_replaced(out, "raw", {"wlan": "wifi"})
    expected = spark.createDataFrame(
        [("unknown", "wifi", 0), ("5g", "x", 3)], "network string, raw string, n int"
    )
    assert_df_equality(out, expected, ignore_row_order=True, ignore_nullable=True)


def test_to_utc_shifts_wall_clock_from_zone(spark):
    df = spark.createDataFrame([(dt.datetime(2026, 11, 1, 12, 0),), (None,)], "ts timestamp")
    out = cleanse.to_utc(df, ["ts"], "Europe/Paris")  # UTC+1 in November
    expected = spark.createDataFrame([(dt.datetime(2026, 11, 1, 11, 0),), (None,)], "ts timestamp")
    assert_df_equality(out, expected, ignore_row_order=True)


@pytest.mark.parametrize("session_zone", ["UTC", "America/New_York", "Asia/Kolkata", "Pacific/Auckland"])
def test_to_utc_gives_the_same_instant_whatever_the_session_time_zone(spark, session_zone):
    """Wall-clock text parsed in any session zone, then ``to_utc`` from Paris: the same instant."""
    previous = spark.conf.get("spark.sql.session.timeZone")
    spark.conf.set("spark.sql.session.timeZone", session_zone)
    try:
        text = spark.createDataFrame([("2026-11-01 12:00:00",), ("2026-07-01 12:00:00",)], "text string")
        parsed = text.select(F.to_timestamp("text").alias("ts"))  # wall clock read in the session zone
        out = cleanse.to_utc(parsed, ["ts"], "Europe/Paris")
        epochs = sorted(r[0] for r in out.select(F.unix_timestamp("ts")).collect())
    finally:
        spark.conf.set("spark.sql.session.timeZone", previous)
    # 12:00 in Paris is 10:00 UTC in July (summer time) and 11:00 UTC in November.
    expected = [
        dt.datetime(2026, 7, 1, 10, tzinfo=dt.timezone.utc),
        dt.datetime(2026, 11, 1, 11, tzinfo=dt.timezone.utc),
    ]
    assert epochs == [int(e.timestamp()) for e in expected]


def test_derive_select_rename_filter(spark):
    rows = [("d1", dt.datetime(2026, 11, 1, 10), 5), ("d2", dt.datetime(2026, 11, 2, 1), -1)]
    df = spark.createDataFrame(rows, "device_id string, event_ts timestamp, mem_mb int")
    out = (
        df.transform(cleanse.with_derived, {"usage_date": "to_date(event_ts)"})
        .transform(cleanse.filter_rows, "mem_mb > 0")
        .transform(cleanse.rename_columns, {"mem_mb": "memory_mb"})
        .transform(cleanse.select_columns, ["device_id", "usage_date", "memory_mb * 2 AS double_mb"])
    )
    expected = spark.createDataFrame(
        [("d1", dt.date(2026, 11, 1), 10)], "device_id string, usage_date date, double_mb int"
    )
    assert_df_equality(out, expected, ignore_nullable=True)


def test_rename_missing_column_is_an_error(spark):
    df = spark.createDataFrame([(1,)], "a int")
    with pytest.raises(ValueError, match="missing columns"):
        cleanse.rename_columns(df, {"b": "c"})


def test_apply_steps_from_config_shape(spark):
    df = spark.createDataFrame(
        [("d1", " Mail ", None, 1), ("d1", "mail", "wifi", 2)],
        "id string, app string, network string, seq int",
    )
    steps = (
        TransformStep("standardize", {"columns": ["app"], "case": "lower"}),
        TransformStep("dedupe", {"keys": ["id"], "order_by": "seq asc"}),
        TransformStep("fill", {"values": {"network": "unknown"}}),
        TransformStep("select", {"value": ["id", "app", "network"]}),
    )
    out = apply_steps(df, steps)
    expected = spark.createDataFrame([("d1", "mail", "unknown")], "id string, app string, network string")
    assert_df_equality(out, expected, ignore_nullable=True)
