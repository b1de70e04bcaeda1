"""Change feeds beyond the table of cases: the ``cdc`` spec, write-audit-publish of a change
batch (case 15, a failing rule), tombstone retention, and feeds shaped like real exports (AWS
DMS CSV files, Debezium's unwrapped JSON) run through the whole pipeline."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from chispa import assert_df_equality

from lakehouse.config.cdc import CdcSpec
from lakehouse.config.expectations import Expectation
from lakehouse.config.gold import GoldSpec, Scd2Spec, parse_gold
from lakehouse.config.model import load_config
from lakehouse.config.node import Node, Origins
from lakehouse.errors import ConfigError, QualityError
from lakehouse.gold import cdc_writer
from lakehouse.gold.cdc import Tables, publish_changes
from lakehouse.gold.wap import Target, publish_batch
from lakehouse.io.delta import read_table, table_version
from lakehouse.pipeline import run_pipeline
from lakehouse.results import RunContext

FEED = "id string, name string, op string, ts timestamp, seq int"
T0 = dt.datetime(2026, 11, 1, 10, 0)
NOW = dt.datetime(2026, 11, 2, 6, 0, tzinfo=dt.timezone.utc)
CDC = CdcSpec(sequence_by=("ts", "seq"), operation="op")


def h(hours: float) -> dt.datetime:
    return T0 + dt.timedelta(hours=hours)


def _gold(value: dict[str, Any]) -> GoldSpec:
    return parse_gold(Node(value, ("datasets", "customers", "gold"), Origins("customers.yml")), "customers")


# --- the spec -----------------------------------------------------------------------------


def test_cdc_block_parses_with_defaults():
    spec = _gold({"mode": "merge", "keys": ["id"], "cdc": {"sequence_by": "ts", "operation": "Op"}})
    assert spec.cdc == CdcSpec(sequence_by=("ts",), operation="Op")
    assert spec.cdc.deletes == "upper(trim(`Op`)) IN ('D', 'DELETE')"
    assert spec.cdc.excluded == ("Op",)
    assert spec.cdc.tombstone_retention == dt.timedelta(days=30)
    (implicit,) = [e for e in spec.audited if e not in spec.expectations]
    assert (implicit.name, implicit.action, implicit.rule) == (
        "cdc_key_and_sequence_present",
        "drop",
        "`ts` IS NOT NULL AND `id` IS NOT NULL",
    )


@pytest.mark.parametrize(
    "gold, path, message",
    [
        ({"mode": "append", "cdc": {"sequence_by": "ts"}}, "gold.cdc", "cdc needs mode merge"),
        (
            {"mode": "merge", "keys": ["id"], "cdc": {"operation": "op"}},
            "gold.cdc.sequence_by",
            "is required",
        ),
        (
            {"mode": "merge", "keys": ["id"], "cdc": {"sequence_by": "ts", "except_columns": ["ts", "x"]}},
            "gold.cdc.except_columns",
            "keys and sequence_by columns stay in gold",
        ),
        (
            {"mode": "scd2", "keys": ["id"], "cdc": {"sequence_by": "ts", "soft_delete": True}},
            "gold.cdc.soft_delete",
            "soft_delete applies to mode merge",
        ),
        (
            {"mode": "merge", "keys": ["id"], "cdc": {"sequence_by": "ts", "tombstone_retention": "a week"}},
            "gold.cdc.tombstone_retention",
            "30m, 2h or 1d",
        ),
        (
            {"mode": "merge", "keys": ["id"], "cdc": {"sequence_by": "ts", "sequnce": "x"}},
            "gold.cdc",
            "sequnce",
        ),
        (
            {"mode": "scd2", "keys": ["id"], "scd2": {"effective_from": "ts"}, "cdc": {"sequence_by": "ts"}},
            "gold.scd2",
            "effective_from",
        ),
    ],
)
def test_cdc_config_errors_name_the_key(gold, path, message):
    with pytest.raises(ConfigError, match=message) as info:
        _gold(gold)
    assert f"datasets.customers.{path}" in str(info.value)


# --- write-audit-publish of a change batch --------------------------------------------------


def _target(tmp_path: Path) -> Target:
    return Target(
        dataset="customers",
        path=str(tmp_path / "customers"),
        metrics_path=str(tmp_path / "_expectations"),
        quarantine_path=str(tmp_path / "customers_quarantine"),
        resolve=lambda name: str(tmp_path / name),
        tombstones_path=str(tmp_path / "customers_tombstones"),
    )


@pytest.mark.parametrize("mode", ("merge", "scd2"))
def test_case_15_changes_without_key_or_sequence_are_quarantined(spark, tmp_path, mode):
    spec = GoldSpec(
        table="customers", mode=mode, keys=("id",), cdc=CDC, scd2=Scd2Spec() if mode == "scd2" else None
    )
    target = _target(tmp_path)
    batch = spark.createDataFrame(
        [("a", "Ann", "I", h(0), 1), (None, "Nobody", "I", h(0), 2), ("b", "Bob", "I", None, 3)], FEED
    )
    out = publish_batch(spark, batch, spec, target, RunContext(run_id="run-1", pipeline="p"))
    assert (out.rows_read, out.rows_dropped) == (3, 2)
    assert out.cdc == {"inserted": 1, "updated": 0, "deleted": 0, "stale": 0, "duplicate": 0, "no_op": 0}
    assert [r.id for r in read_table(spark, target.path).collect()] == ["a"]
    quarantined = read_table(spark, target.quarantine_path).orderBy("name").collect()
    assert [(q.name, q._dropped_by) for q in quarantined] == [
        ("Bob", ["cdc_key_and_sequence_present"]),
        ("Nobody", ["cdc_key_and_sequence_present"]),
    ]


def test_a_failing_rule_leaves_gold_and_tombstones_at_their_versions(spark, tmp_path):
    rule = Expectation("names_present", "row", "fail", rule="op = 'D' or name is not null")
    spec = GoldSpec(table="customers", mode="merge", keys=("id",), cdc=CDC, expectations=(rule,))
    target = _target(tmp_path)
    ctx = RunContext(run_id="run-1", pipeline="p")
    first = [("a", "Ann", "I", h(0), 1), ("b", "Bob", "I", h(0), 1), ("c", None, "D", h(0), 1)]
    publish_batch(spark, spark.createDataFrame(first, FEED), spec, target, ctx)
    tombstones = str(tmp_path / "customers_tombstones")
    before = (table_version(spark, target.path), table_version(spark, tombstones))
    bad = [("a", None, "U", h(1), 1), ("b", None, "D", h(1), 1)]
    with pytest.raises(QualityError, match="names_present"):
        publish_batch(spark, spark.createDataFrame(bad, FEED), spec, target, ctx)
    assert (table_version(spark, target.path), table_version(spark, tombstones)) == before
    assert sorted(r.name for r in read_table(spark, target.path).collect()) == ["Ann", "Bob"]


TXN_CONFS = ("spark.databricks.delta.write.txnAppId", "spark.databricks.delta.write.txnVersion")


@pytest.mark.parametrize("mode", ("merge", "scd2"))
def test_a_replayed_range_writes_nothing_twice_and_counts_the_same(spark, tmp_path, mode, monkeypatch):
    """A crash after gold's MERGE but before the tombstones: the gold runner replays the planned
    range with the same txn and the versions from before it; gold is not merged again, the
    tombstones are written once, the buckets are those of the first attempt."""
    scd2 = mode == "scd2"
    spec = GoldSpec(table="customers", mode=mode, keys=("id",), cdc=CDC, scd2=Scd2Spec() if scd2 else None)
    target = _target(tmp_path)
    ctx = RunContext(run_id="run-1", pipeline="p")
    first = [("a", "Ann", "I", h(0), 1), ("b", "Bob", "I", h(0), 1), ("z", None, "D", h(0), 1)]
    publish_batch(spark, spark.createDataFrame(first, FEED), spec, target, ctx, txn=("app", 1))
    before = {t: table_version(spark, t) for t in target.tables()}
    rows = [("a", "Ann B", "U", h(1), 1), ("b", None, "D", h(1), 1), ("c", "Cy", "I", h(1), 1)]
    batch = spark.createDataFrame([*rows, (None, "Nobody", "I", h(1), 1)], FEED)

    def crash(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("crash before the tombstones")

    with monkeypatch.context() as patch:
        patch.setattr(cdc_writer, "remember", crash)
        with pytest.raises(RuntimeError, match="crash"):
            publish_batch(spark, batch, spec, target, ctx, txn=("app", 2), before=dict(before))
    crashed = {t: table_version(spark, t) for t in target.tables()}
    assert crashed[target.path] == before[target.path] + 1
    assert crashed[target.tombstones_path] == before[target.tombstones_path]
    assert all(spark.conf.get(key, None) is None for key in TXN_CONFS)  # settings restored

    replayed = publish_batch(spark, batch, spec, target, ctx, txn=("app", 2), before=dict(before))
    after = {t: table_version(spark, t) for t in target.tables()}
    assert after[target.path] == crashed[target.path]  # gold not merged a second time
    assert after[target.tombstones_path] == before[target.tombstones_path] + 1
    assert after[target.quarantine_path] == crashed[target.quarantine_path]
    assert replayed.cdc == {"inserted": 1, "updated": 1, "deleted": 1, "stale": 0, "duplicate": 0, "no_op": 0}
    assert (replayed.rows_read, replayed.rows_dropped) == (4, 1)
    again = publish_batch(spark, batch, spec, target, ctx, txn=("app", 2), before=dict(before))
    assert {t: table_version(spark, t) for t in target.tables()} == after
    assert (again.cdc, again.rows_written) == (replayed.cdc, replayed.rows_written)

    if scd2:
        expected = [
            ("a", "Ann", h(0), 1, h(0), h(1), False),
            ("a", "Ann B", h(1), 1, h(1), None, True),
            ("b", "Bob", h(0), 1, h(0), h(1), False),
            ("c", "Cy", h(1), 1, h(1), None, True),
        ]
        schema = "id string, name string, ts timestamp, seq int, valid_from timestamp, valid_to timestamp, "
        schema += "is_current boolean"
    else:
        expected = [("a", "Ann B", h(1), 1), ("c", "Cy", h(1), 1)]
        schema = "id string, name string, ts timestamp, seq int"
    assert_df_equality(
        read_table(spark, target.path),
        spark.createDataFrame(expected, schema),
        ignore_row_order=True,
        ignore_nullable=True,
    )


def test_expired_tombstones_stop_protecting_and_are_removed(spark, tmp_path):
    spec = GoldSpec(
        table="customers",
        mode="merge",
        keys=("id",),
        cdc=replace(CDC, tombstone_retention=dt.timedelta(hours=12)),
    )
    path, tombstones = str(tmp_path / "customers"), str(tmp_path / "customers_tombstones")

    def apply(rows: list[tuple[Any, ...]], now: dt.datetime) -> dict[str, int]:
        batch = spark.createDataFrame(rows, FEED)
        return publish_changes(spark, batch, spec, Tables(path, tombstones), now).buckets

    apply([("z", "Zed", "I", h(0), 1), ("a", None, "D", h(5), 1)], NOW)
    assert apply([("a", "Ann", "I", h(1), 1)], NOW + dt.timedelta(hours=11))["stale"] == 1  # still remembered
    # 13 hours later the delete is forgotten: the older insert is applied
    assert apply([("a", "Ann", "I", h(1), 2)], NOW + dt.timedelta(hours=13))["inserted"] == 1
    apply([("b", None, "D", h(6), 1)], NOW + dt.timedelta(hours=13))  # records a delete, drops expired ones
    kept = read_table(spark, tombstones).select("id", "_kind").collect()
    assert [tuple(r) for r in kept] == [("b", "delete")]
    assert sorted(r.id for r in read_table(spark, path).collect()) == ["a", "z"]


# --- feeds shaped like real exports, through the pipeline ----------------------------------

DMS_HEADER = "Op,_commit_ts,AR_H_CHANGE_SEQ,id,email,tier"
# AWS DMS with includeOpForFullLoad, TimestampColumnName=_commit_ts and the $AR_H_CHANGE_SEQ
# header as a column (a string: commit time + 19-digit counter, increasing in commit order).
DMS_FILES = {
    "LOAD00000001.csv": [
        "I,2026-11-01 00:00:00.000000,20261101000000000000000000000000001,1,ann@example.com,gold",
        "I,2026-11-01 00:00:00.000000,20261101000000000000000000000000002,2,bob@example.com,silver",
        "I,2026-11-01 00:00:00.000000,20261101000000000000000000000000003,3,cy@example.com,silver",
    ],
    "20261101-101500000.csv": [
        "U,2026-11-01 10:00:00.000000,20261101100000000000000000000000010,1,ann@example.org,gold",
        "D,2026-11-01 10:00:00.000000,20261101100000000000000000000000011,2,bob@example.com,silver",
        "U,2026-11-01 10:05:00.000000,20261101100500000000000000000000012,3,cy@example.com,bronze",
        "I,2026-11-01 10:07:00.000000,20261101100700000000000000000000013,4,dee@example.com,gold",
    ],
    "20261101-111500000.csv": [  # a straggler: committed at 09:59, written after the file above
        "U,2026-11-01 09:59:00.000000,20261101095900000000000000000000009,1,ann@old.example.com,silver",
        "U,2026-11-01 11:00:00.000000,20261101110000000000000000000000020,4,dee@example.com,platinum",
    ],
}
# Debezium's ExtractNewRecordState with add.fields=op,lsn,source.ts_ms and
# delete.handling.mode=rewrite: flat rows plus __op, __lsn, __source_ts_ms, __deleted.
DEBEZIUM = [
    {
        "id": 7,
        "sku": "kb-1",
        "price": 49.0,
        "__op": "r",
        "__lsn": 100,
        "__source_ts_ms": 1761955200000,
        "__deleted": "false",
    },
    {
        "id": 8,
        "sku": "ms-2",
        "price": 19.0,
        "__op": "r",
        "__lsn": 100,
        "__source_ts_ms": 1761955200000,
        "__deleted": "false",
    },
    {
        "id": 7,
        "sku": "kb-1",
        "price": 45.0,
        "__op": "u",
        "__lsn": 180,
        "__source_ts_ms": 1761958800000,
        "__deleted": "false",
    },
    {
        "id": 8,
        "sku": "ms-2",
        "price": 19.0,
        "__op": "d",
        "__lsn": 190,
        "__source_ts_ms": 1761958800000,
        "__deleted": "true",
    },
    {
        "id": 7,
        "sku": "kb-1",
        "price": 39.0,
        "__op": "u",
        "__lsn": 150,
        "__source_ts_ms": 1761957000000,
        "__deleted": "false",
    },
]


def _columns(**types: str) -> list[dict[str, Any]]:
    return [{"name": name, "type": kind} for name, kind in types.items()]


def _exports_pipeline(tmp_path: Path) -> Path:
    """A pipeline of two change feeds: DMS CSV files (SCD1) and Debezium JSON (SCD2)."""
    landing = tmp_path / "landing"
    (landing / "dms").mkdir(parents=True)
    (landing / "debezium").mkdir(parents=True)
    dms_columns = _columns(Op="string", _commit_ts="timestamp", AR_H_CHANGE_SEQ="string", id="int")
    dms_columns[1]["format"] = "yyyy-MM-dd HH:mm:ss.SSSSSS"
    dms_columns += _columns(email="string", tier="string")
    lineage = ["_source_file", "_ingested_at", "_run_id"]
    dms = {
        "source": {"format": "csv", "path": "dms", "options": {"header": True}},
        "contract": {"columns": dms_columns},
        "gold": {
            "table": "dms_customers",
            "mode": "merge",
            "keys": ["id"],
            "cdc": {
                "sequence_by": ["_commit_ts", "AR_H_CHANGE_SEQ"],
                "operation": "Op",
                "except_columns": lineage,
            },
        },
    }
    debezium_columns = _columns(id="long", sku="string", price="double", __op="string", __lsn="long")
    debezium_columns += _columns(__source_ts_ms="long", __deleted="string")
    debezium = {
        "source": {"format": "json", "path": "debezium"},
        "contract": {"columns": debezium_columns},
        "gold": {
            "table": "products_history",
            "mode": "scd2",
            "keys": ["id"],
            "cdc": {
                "sequence_by": ["__source_ts_ms", "__lsn"],
                "operation": "__op",
                "apply_as_deletes": "__deleted = 'true'",
                "except_columns": ["__deleted", *lineage],
            },
        },
    }
    pipeline = {
        "pipeline": "exports",
        "storage": {"root": str(tmp_path / "lake"), "landing": str(landing)},
        "datasets": {"dms": dms, "debezium": debezium},
    }
    path = tmp_path / "exports.yml"
    path.write_text(yaml.safe_dump(pipeline, sort_keys=False))
    return path


def _land_dms(tmp_path: Path, names: list[str]) -> None:
    for name in names:
        (tmp_path / "landing" / "dms" / name).write_text("\n".join([DMS_HEADER, *DMS_FILES[name]]) + "\n")


@pytest.mark.slow
def test_exports_from_dms_and_debezium_through_the_pipeline(spark, tmp_path):
    config = load_config(_exports_pipeline(tmp_path), env=None)
    _land_dms(tmp_path, ["LOAD00000001.csv", "20261101-101500000.csv"])
    lines = [json.dumps(r) for r in DEBEZIUM]
    (tmp_path / "landing" / "debezium" / "part-0.json").write_text("\n".join(lines[:4]) + "\n")
    first = run_pipeline(spark, config, run_id="run-1")
    assert first.status == "succeeded", first.to_dict()
    _land_dms(tmp_path, ["20261101-111500000.csv"])
    (tmp_path / "landing" / "debezium" / "part-1.json").write_text(lines[4] + "\n")
    second = run_pipeline(spark, config, run_id="run-2")
    assert second.status == "succeeded", second.to_dict()

    ts = dt.datetime.fromisoformat
    dms = spark.createDataFrame(
        [
            (ts("2026-11-01 10:00:00"), "20261101100000000000000000000000010", 1, "ann@example.org", "gold"),
            (ts("2026-11-01 10:05:00"), "20261101100500000000000000000000012", 3, "cy@example.com", "bronze"),
            (
                ts("2026-11-01 11:00:00"),
                "20261101110000000000000000000000020",
                4,
                "dee@example.com",
                "platinum",
            ),
        ],
        "_commit_ts timestamp, AR_H_CHANGE_SEQ string, id int, email string, tier string",
    )
    actual = read_table(spark, config.storage.table("gold", "dms_customers"))
    assert_df_equality(actual, dms, ignore_row_order=True, ignore_nullable=True)
    dms_gold = second.result("dms", "gold")
    assert dms_gold.details["cdc"] == {
        "inserted": 0,
        "updated": 1,
        "deleted": 0,
        "stale": 1,
        "duplicate": 0,
        "no_op": 0,
    }

    t0, t1, t2 = 1761955200000, 1761957000000, 1761958800000
    products = spark.createDataFrame(
        [
            (7, "kb-1", 49.0, 100, t0, t0, t1, False),
            (7, "kb-1", 39.0, 150, t1, t1, t2, False),  # the late update, placed in history
            (7, "kb-1", 45.0, 180, t2, t2, None, True),
            (8, "ms-2", 19.0, 100, t0, t0, t2, False),  # deleted: end-dated, no current row
        ],
        "id long, sku string, price double, __lsn long, __source_ts_ms long, "
        "valid_from long, valid_to long, is_current boolean",
    )
    history = read_table(spark, config.storage.table("gold", "products_history"))
    assert_df_equality(history, products, ignore_row_order=True, ignore_nullable=True)
