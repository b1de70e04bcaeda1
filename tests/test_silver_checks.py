"""Contract checks: each rule, several failures in one row, NULL routing, duplicates, rescue.

Rows are routed by :func:`lakehouse.silver.route.route`, the function the silver runner uses.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F  # noqa: N812

from lakehouse.config.column_rules import COLUMN_RULES
from lakehouse.config.contract import ColumnSpec, Contract, parse_column
from lakehouse.config.node import Node, Origins
from lakehouse.errors import ConfigError
from lakehouse.silver.route import route
from lakehouse.transforms.quarantine import REASON_TYPE

CONTRACT = Contract(
    columns=(
        ColumnSpec("id", nullable=False, rules={"pattern": "^dev-[0-9]{3}$"}),
        ColumnSpec("cpu", "double", rules={"min": 0, "max": 100}),
        ColumnSpec("net", rules={"allowed": ("wifi", "4g")}),
        ColumnSpec("app", rules={"max_length": 5}),
    ),
    null_tokens=("", "NA"),
)
BRONZE = "_source_file string, id string, cpu string, net string, app string"


def _route(spark, rows, contract=CONTRACT, schema=BRONZE):
    routed = route(spark.createDataFrame(rows, schema), contract, run_id="r", salt=None)
    return routed.valid, routed.rejected


def _reasons(spark, rows):
    return spark.createDataFrame(rows, f"_source_file string, _reasons {REASON_TYPE}")


def _ids(df):
    return sorted(r["_source_file"] for r in df.select("_source_file").collect())


def test_each_rule_gives_its_reason_with_the_original_value(spark):
    valid, rejected = _route(
        spark,
        [
            ("ok", "dev-001", "50", "wifi", "mail"),
            ("null_id", "NA", "1", "4g", "mail"),
            ("pattern", "dev-1x1", "1", "4g", "mail"),
            ("cast", "dev-002", "abc", "4g", "mail"),
            ("min", "dev-003", "-1", "4g", "mail"),
            ("max", "dev-004", "140.0", "4g", "mail"),
            ("allowed", "dev-005", "1", "3g", "mail"),
            ("length", "dev-006", "1", "4g", "browser"),
        ],
    )
    assert _ids(valid) == ["ok"]
    expected = _reasons(
        spark,
        [
            ("null_id", [("id", "not_null", "NA", "column is null or a null token")]),
            ("pattern", [("id", "pattern", "dev-1x1", "does not match the pattern ^dev-[0-9]{3}$")]),
            ("cast", [("cpu", "cast", "abc", "not a valid double")]),
            ("min", [("cpu", "min", "-1", "below the minimum 0")]),
            ("max", [("cpu", "max", "140.0", "above the maximum 100")]),
            ("allowed", [("net", "allowed", "3g", "not one of the allowed values wifi, 4g")]),
            ("length", [("app", "max_length", "browser", "longer than 5 characters")]),
        ],
    )
    assert_df_equality(
        rejected.select("_source_file", "_reasons"), expected, ignore_row_order=True, ignore_nullable=True
    )


def test_several_failures_make_one_quarantine_row_with_all_reasons(spark):
    valid, rejected = _route(spark, [("bad", " dev-12 ", "x", "5g", "toolong")])
    assert valid.count() == 0
    expected = _reasons(
        spark,
        [
            (
                "bad",
                [
                    ("id", "pattern", " dev-12 ", "does not match the pattern ^dev-[0-9]{3}$"),
                    ("cpu", "cast", "x", "not a valid double"),
                    ("net", "allowed", "5g", "not one of the allowed values wifi, 4g"),
                    ("app", "max_length", "toolong", "longer than 5 characters"),
                ],
            )
        ],
    )
    assert_df_equality(rejected.select("_source_file", "_reasons"), expected, ignore_nullable=True)


def test_nulls_pass_value_rules_and_each_row_lands_exactly_once(spark):
    rows = [
        ("all_null", "dev-001", None, None, None),
        ("tokens", "dev-002", "NA", "", "NA"),
        ("null_key", None, None, None, None),
        ("ok", "dev-003", "0", "4g", ""),
    ]
    valid, rejected = _route(spark, rows)
    assert _ids(valid) == ["all_null", "ok", "tokens"]
    assert _ids(rejected) == ["null_key"]
    assert valid.count() + rejected.count() == len(rows)


def test_nan_is_above_the_maximum(spark):
    # Spark orders NaN above every number: a max rule catches it instead of letting it through.
    valid, rejected = _route(spark, [("nan", "dev-001", "NaN", "4g", "a")])
    assert valid.count() == 0
    assert [r.rule for r in rejected.first()["_reasons"]] == ["max"]


def test_duplicate_keys_keep_latest_and_quarantine_the_rest(spark):
    contract = Contract(columns=(ColumnSpec("id"), ColumnSpec("v", "int")), primary_key=("id",))
    schema = "_source_file string, _ingested_at timestamp, id string, v string"
    t1, t2 = dt.datetime(2026, 11, 1), dt.datetime(2026, 11, 2)
    valid, rejected = _route(
        spark,
        [
            ("a1", t1, "A", "1"),
            ("a2", t2, "A", "2"),
            ("a3", t1, "A", "3"),
            ("b1", t1, "B", "x"),
            ("b2", t1, "B", "5"),  # b1 fails a cast: b2 is not its duplicate
            ("c1", t1, None, "1"),
        ],
        contract,
        schema,
    )
    kept = spark.createDataFrame([("a2", "A", 2), ("b2", "B", 5)], "_source_file string, id string, v int")
    assert_df_equality(
        valid.select("_source_file", "id", "v"), kept, ignore_row_order=True, ignore_nullable=True
    )
    dup = [
        (
            "id",
            "duplicate_key",
            '{"id":"A"}',
            "duplicate primary key in this batch; the latest ingested row was kept",
        )
    ]
    expected = _reasons(
        spark,
        [
            ("a1", dup),
            ("a3", dup),
            ("b1", [("v", "cast", "x", "not a valid int")]),
            ("c1", [("id", "not_null", None, "primary key column is null or a null token")]),
        ],
    )
    assert_df_equality(
        rejected.select("_source_file", "_reasons"), expected, ignore_row_order=True, ignore_nullable=True
    )


def test_rescued_data_quarantined_or_flagged(spark):
    schema = "_source_file string, id string, _rescued_data string"
    rows = [("r", "dev-001", '{"extra":"1"}'), ("ok", "dev-002", None)]
    quarantine = Contract(columns=(ColumnSpec("id"),), rescued_data="quarantine")
    valid, rejected = _route(spark, rows, quarantine, schema)
    assert _ids(valid) == ["ok"]
    expected = _reasons(
        spark,
        [
            (
                "r",
                [
                    (
                        "_rescued_data",
                        "rescued_data",
                        '{"extra":"1"}',
                        "row has values that did not fit the schema",
                    )
                ],
            )
        ],
    )
    assert_df_equality(rejected.select("_source_file", "_reasons"), expected, ignore_nullable=True)
    flag = Contract(columns=(ColumnSpec("id"),), rescued_data="flag")
    valid, rejected = _route(spark, rows, flag, schema)
    assert rejected.count() == 0
    flagged = valid.filter(F.col("_rescued_data").isNotNull()).select("_source_file").collect()
    assert [r[0] for r in flagged] == ["r"]


def test_is_in_past_rejects_timestamps_and_dates_after_now(spark):
    node = Node({"name": "ts", "type": "timestamp", "is_in_past": True}, ("columns", "0"), Origins("c.yml"))
    assert parse_column(node).rules == {"is_in_past": True}
    text = Node({"name": "s", "is_in_past": True}, ("columns", "1"), Origins("c.yml"))
    wrong_type = r"columns\.1\.is_in_past: rule is_in_past does not apply to a string column"
    with pytest.raises(ConfigError, match=wrong_type):
        parse_column(text)
    past = ColumnSpec("ts", "timestamp", rules={"is_in_past": True})
    contract = Contract(columns=(past, ColumnSpec("day", "date", rules={"is_in_past": True})))
    now = dt.datetime.now(dt.timezone.utc)  # the contract reads timestamps as UTC
    soon, today = (now + dt.timedelta(minutes=10)).strftime("%Y-%m-%d %H:%M:%S"), now.strftime("%Y-%m-%d")
    rows = [
        ("past", "2020-01-01 00:00:00", today),
        ("ts_future", soon, "2020-01-01"),
        ("day_future", "2020-01-01 00:00:00", "2999-01-01"),
        ("nulls", None, None),
    ]
    valid, rejected = _route(spark, rows, contract, "_source_file string, ts string, day string")
    assert _ids(valid) == ["nulls", "past"]
    expected = _reasons(
        spark,
        [
            ("ts_future", [("ts", "is_in_past", soon, "after the current time")]),
            ("day_future", [("day", "is_in_past", "2999-01-01", "after the current time")]),
        ],
    )
    assert_df_equality(
        rejected.select("_source_file", "_reasons"), expected, ignore_row_order=True, ignore_nullable=True
    )


def test_docs_list_every_column_rule(repo_root: Path) -> None:
    """docs/silver.md's column-level table names each registered rule."""
    text = (repo_root / "docs" / "silver.md").read_text(encoding="utf-8")
    table = text.split("Column level:", 1)[1].split("\n\n", 2)[1]
    documented = {name for row in table.splitlines() for name in re.findall(r"`(\w+)`", row.split("|")[1])}
    assert set(COLUMN_RULES) <= documented, sorted(set(COLUMN_RULES) - documented)
