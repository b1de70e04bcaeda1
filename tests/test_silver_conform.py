"""Conform transforms: rename, trim, null tokens and the casts of every contract type."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F  # noqa: N812

from lakehouse.config.contract import ColumnSpec, Contract
from lakehouse.transforms.conform import cast_failed, drift, to_conformed


def _cast(spark, spec: ColumnSpec, values: list[str | None], tz: str = "UTC"):
    """Conform one column of values; return (value, failed) rows in input order."""
    contract = Contract(columns=(spec,), timezone=tz)
    rows = [(i, v) for i, v in enumerate(values)]
    bronze = spark.createDataFrame(rows, f"_i int, {spec.source_name} string").withColumnRenamed(
        "_i", "_source_file"
    )
    out = bronze.transform(to_conformed, contract)
    return out.select(
        F.col("_source_file").cast("int").alias("i"),
        F.col(spec.name).alias("v"),
        cast_failed(spec).alias("failed"),
    )


def _expect(spark, ddl: str, rows):
    data = [(i, v, f) for i, (v, f) in enumerate(rows)]
    return spark.createDataFrame(data, f"i int, v {ddl}, failed boolean")


@pytest.fixture(params=["true", "false"], ids=["ansi", "no-ansi"])
def ansi(spark, request):
    """Run a test with spark.sql.ansi.enabled set both ways; the results must not differ."""
    before = spark.conf.get("spark.sql.ansi.enabled")
    spark.conf.set("spark.sql.ansi.enabled", request.param)
    yield request.param
    spark.conf.set("spark.sql.ansi.enabled", before)


def test_int_rejects_fractions_text_and_overflow(spark, ansi):
    actual = _cast(spark, ColumnSpec("n", "int"), ["42", " -7 ", "1.5", "abc", "99999999999", "NA", None])
    expected = _expect(
        spark,
        "int",
        [(42, False), (-7, False), (None, True), (None, True), (None, True), (None, False), (None, False)],
    )
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


def test_bigint_holds_what_int_cannot(spark, ansi):
    actual = _cast(spark, ColumnSpec("n", "bigint"), ["99999999999", "+3"])
    expected = _expect(spark, "bigint", [(99999999999, False), (3, False)])
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


def test_double_accepts_numbers_rejects_text(spark, ansi):
    actual = _cast(spark, ColumnSpec("x", "double"), ["12.5", "1e3", "-0.25", "abc", "12,5", ""])
    expected = _expect(
        spark,
        "double",
        [(12.5, False), (1000.0, False), (-0.25, False), (None, True), (None, True), (None, False)],
    )
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


def test_decimal_overflow_is_a_failure(spark, ansi):
    actual = _cast(spark, ColumnSpec("d", "decimal(5,2)"), ["123.45", "1.005", "1234.5", "x"])
    expected = _expect(
        spark,
        "decimal(5,2)",
        [(Decimal("123.45"), False), (Decimal("1.01"), False), (None, True), (None, True)],
    )
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


def test_boolean_tokens_case_insensitive_and_configurable(spark, ansi):
    spec = ColumnSpec("b", "boolean")
    actual = _cast(spark, spec, ["yes", "NO", "1", "0", "True", "f", "maybe"])
    expected = _expect(
        spark,
        "boolean",
        [
            (True, False),
            (False, False),
            (True, False),
            (False, False),
            (True, False),
            (False, False),
            (None, True),
        ],
    )
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)
    custom = ColumnSpec("b", "boolean", true_values=("on",), false_values=("off",))
    actual = _cast(spark, custom, ["ON", "off", "yes"])
    expected = _expect(spark, "boolean", [(True, False), (False, False), (None, True)])
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


def test_timestamp_with_format(spark, ansi):
    spec = ColumnSpec("t", "timestamp", format="yyyy-MM-dd HH:mm:ss")
    actual = _cast(
        spark, spec, ["2026-11-01 10:20:30", "2026-13-45 99:00:00", "2026-11-01T10:20:30", "yesterday"]
    )
    expected = _expect(
        spark,
        "timestamp",
        [(dt.datetime(2026, 11, 1, 10, 20, 30), False), (None, True), (None, True), (None, True)],
    )
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


def test_timestamp_format_with_quoted_literal(spark, ansi):
    spec = ColumnSpec("t", "timestamp", format="yyyy-MM-dd'T'HH:mm")
    actual = _cast(spark, spec, ["2026-11-01T10:20", "2026-11-01 10:20"])
    expected = _expect(spark, "timestamp", [(dt.datetime(2026, 11, 1, 10, 20), False), (None, True)])
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


def test_timestamp_read_in_column_or_contract_timezone(spark, ansi):
    # The session is UTC: 10:00 in Paris (UTC+1 in November) is 09:00 UTC.
    paris = ColumnSpec("t", "timestamp", format="dd/MM/yyyy HH:mm", timezone="Europe/Paris")
    expected = _expect(spark, "timestamp", [(dt.datetime(2026, 11, 1, 9, 0), False)])
    assert_df_equality(_cast(spark, paris, ["01/11/2026 10:00"]), expected, ignore_nullable=True)
    default = ColumnSpec("t", "timestamp", format="dd/MM/yyyy HH:mm")
    actual = _cast(spark, default, ["01/11/2026 10:00"], tz="Europe/Paris")
    assert_df_equality(actual, expected, ignore_nullable=True)


def test_timestamp_instant_does_not_depend_on_session_timezone(spark):
    before = spark.conf.get("spark.sql.session.timeZone")
    spark.conf.set("spark.sql.session.timeZone", "America/New_York")
    try:
        paris = ColumnSpec("t", "timestamp", format="yyyy-MM-dd HH:mm", timezone="Europe/Paris")
        epoch = _cast(spark, paris, ["2026-11-01 10:00"]).select(F.unix_timestamp("v")).first()[0]
    finally:
        spark.conf.set("spark.sql.session.timeZone", before)
    assert epoch == int(dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.timezone.utc).timestamp())


def test_timestamp_without_format_uses_iso(spark, ansi):
    actual = _cast(spark, ColumnSpec("t", "timestamp"), ["2026-11-01 10:00:00", "2026-11-01", "nope"])
    expected = _expect(
        spark,
        "timestamp",
        [(dt.datetime(2026, 11, 1, 10), False), (dt.datetime(2026, 11, 1), False), (None, True)],
    )
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


def test_date_with_and_without_format(spark, ansi):
    actual = _cast(
        spark, ColumnSpec("d", "date", format="dd.MM.yyyy"), ["01.02.2026", "31.02.2026", "2026-02-01"]
    )
    expected = _expect(spark, "date", [(dt.date(2026, 2, 1), False), (None, True), (None, True)])
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)
    actual = _cast(spark, ColumnSpec("d", "date"), ["2026-02-01", "02/01/2026"])
    expected = _expect(spark, "date", [(dt.date(2026, 2, 1), False), (None, True)])
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


def test_complex_types_from_json(spark, ansi):
    actual = _cast(spark, ColumnSpec("a", "array<string>"), ['["mail", "maps"]', "[]", '["oops', "x"])
    expected = _expect(
        spark, "array<string>", [(["mail", "maps"], False), ([], False), (None, True), (None, True)]
    )
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)
    # Maps cannot be sorted for comparison: compare their JSON text (and the type separately).
    mapped = _cast(spark, ColumnSpec("m", "map<string,int>"), ['{"a": 1}', "{bad"])
    assert mapped.schema["v"].dataType.simpleString() == "map<string,int>"
    actual = mapped.withColumn("v", F.to_json("v"))
    expected = _expect(spark, "string", [('{"a":1}', False), (None, True)])
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)
    actual = _cast(spark, ColumnSpec("s", "struct<x:int,y:string>"), ['{"x": 1, "y": "a"}', '{"x": 1'])
    expected = _expect(spark, "struct<x:int,y:string>", [({"x": 1, "y": "a"}, False), (None, True)])
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


def test_rename_trim_null_tokens_and_missing_columns(spark):
    contract = Contract(
        columns=(ColumnSpec("device", source="Device ID"), ColumnSpec("app"), ColumnSpec("absent", "int")),
        null_tokens=("", "NA", "null"),
    )
    bronze = spark.createDataFrame(
        [("  dev-1 ", "NA", "x", "f1"), ("dev-2", "  ", None, "f2"), ("dev-3", "null", "y", "f3")],
        "`Device ID` string, app string, extra string, _source_file string",
    )
    actual = bronze.transform(to_conformed, contract).select("device", "app", "absent", "_source_file")
    expected = spark.createDataFrame(
        [("dev-1", None, None, "f1"), ("dev-2", None, None, "f2"), ("dev-3", None, None, "f3")],
        "device string, app string, absent int, _source_file string",
    )
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


def test_trim_can_be_switched_off(spark):
    contract = Contract(columns=(ColumnSpec("app"),), trim=False, null_tokens=("NA",))
    bronze = spark.createDataFrame([(" mail ",), (" NA",)], "app string")
    actual = bronze.transform(to_conformed, contract).select("app")
    assert_df_equality(
        actual,
        spark.createDataFrame([(" mail ",), (" NA",)], "app string"),
        ignore_row_order=True,
        ignore_nullable=True,
    )


def test_drift_lists_unknown_and_missing_columns():
    contract = Contract(columns=(ColumnSpec("device", source="device_id"), ColumnSpec("app")))
    found = drift(["device_id", "firmware", "_source_file", "_rescued_data"], contract)
    assert found == {"unknown_columns": ["firmware"], "missing_columns": ["app"]}
