"""Bookkeeping rows built in the driver read back exactly as ``createDataFrame`` gives them."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from chispa import assert_df_equality

from lakehouse.forget import AUDIT_SCHEMA
from lakehouse.io.lease import LOCK_SCHEMA
from lakehouse.io.metrics import METRICS_SCHEMA
from lakehouse.io.rows import column_names, local_frame
from lakehouse.ledger import COLUMNS, LEDGER_SCHEMA

AWARE = datetime(2026, 3, 29, 1, 30, 15, 123456, tzinfo=timezone(timedelta(hours=-5)))
NAIVE = datetime(2026, 10, 25, 2, 30, 0, 7)  # inside a DST change in Europe
AWKWARD = 'it\'s "quoted"\\ on\ntwo lines, é 🙂 \u0000'


def _ledger_row(**changes: object) -> tuple[object, ...]:
    values: dict[str, object] = dict.fromkeys((name for name, _ in COLUMNS), None)
    values.update(
        run_id=AWKWARD, pipeline="devices", status="running", rows_read=2**62, rows_written=0,
        started_at=AWARE, finished_at=NAIVE, event_at=datetime.now(timezone.utc), duration_s=0.1 + 0.2,
        versions_read={"bronze/usage": [0, 12], "silver/x": []}, warnings=[AWKWARD, ""],
        counts={"inserted": 3, "deleted": 0}, unknown_columns=[], pid=4242,
    )  # fmt: skip
    values.update(changes)
    return tuple(values.values())


CASES = {
    "ledger": (
        LEDGER_SCHEMA,
        [
            _ledger_row(),
            _ledger_row(duration_s=float("nan"), versions_read=None, warnings=None, status="failed"),
        ],
    ),
    "metrics": (
        METRICS_SCHEMA,
        [
            ("r", "p", "d", "/t", "rule", "row", "drop", 10, 1, 0.25, False, ["k=1", AWKWARD], "0.1", AWARE),
            ("r", "p", "d", "/t", "agg", "aggregate", "fail", 10, 0, None, True, [], None, NAIVE),
        ],
    ),
    "lock": (LOCK_SCHEMA, [("devices", 3, "run-1", "host", 2**31 - 1, 1, 2**53, None)]),
    "audit": (
        AUDIT_SCHEMA,
        [("e1", AWARE, "me", "p", "d", "email", 2, ["ab", "cd"], {"silver/d": 3, "gold/t": 0}, [], 720.0)],
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_rows_match_create_dataframe(spark, case):
    ddl, rows = CASES[case]
    expected = spark.createDataFrame(rows, ddl)
    built = local_frame(spark, rows, ddl)
    assert built.schema.simpleString() == expected.schema.simpleString()
    assert_df_equality(built, expected, allow_nan_equality=True, ignore_nullable=True)


def test_naive_times_are_local_time_as_create_dataframe_reads_them(spark, monkeypatch):
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    try:
        rows = [("e1", NAIVE, "me", "p", "d", "c", 1, [], {}, [], 1.0)]
        expected = spark.createDataFrame(rows, AUDIT_SCHEMA).select("erased_at").first()[0]
        built = local_frame(spark, rows, AUDIT_SCHEMA).select("erased_at").first()[0]
        assert built == expected
    finally:  # the process's own TZ back (set or not) before other tests read local times
        monkeypatch.undo()
        time.tzset()


def test_no_rows_give_an_empty_frame_of_the_schema(spark):
    built = local_frame(spark, [], LOCK_SCHEMA)
    assert built.count() == 0
    assert built.columns == column_names(LOCK_SCHEMA)


def test_column_names_split_on_top_level_commas_only():
    ddl = "a string, b map<string,array<bigint>>, c decimal(12, 4), d: struct<x:int,y:int>"
    assert column_names(ddl) == ["a", "b", "c", "d"]
    assert column_names(LEDGER_SCHEMA) == [name for name, _ in COLUMNS]


def test_a_value_of_the_wrong_type_fails_instead_of_becoming_null(spark):
    row = ("devices", "three", "run-1", "host", 1, 1, 2, None)  # epoch is a long
    with pytest.raises(Exception, match=r"MALFORMED_RECORD|Malformed"):
        local_frame(spark, [row], LOCK_SCHEMA).collect()


def test_unsupported_values_and_wrong_widths_are_named():
    with pytest.raises(TypeError, match=r"column 'retain_hours': unsupported value of type Decimal$"):
        row = ("e", None, None, None, None, None, None, None, None, None, Decimal("1"))
        local_frame(None, [row], AUDIT_SCHEMA)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="2 values for 8 columns"):
        local_frame(None, [("devices", 1)], LOCK_SCHEMA)  # type: ignore[arg-type]
