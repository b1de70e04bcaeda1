"""Gold publish modes and write-audit-publish on one staged batch (lakehouse.gold.wap)."""

from __future__ import annotations

import datetime as dt

import pytest
from chispa import assert_df_equality
from delta.tables import DeltaTable

from lakehouse.config.expectations import Expectation
from lakehouse.config.gold import GoldSpec, Scd2Spec, TransformStep
from lakehouse.errors import PublishError, QualityError
from lakehouse.gold.wap import Target, publish_batch
from lakehouse.io.delta import table_version
from lakehouse.results import RunContext

CTX = RunContext(run_id="run-1", pipeline="devices")
USAGE = "device_id string, event_ts timestamp, app string, mem_mb int, _ingested_at timestamp"
CONFIG = "device_id string, snapshot_ts timestamp, os_version string, model string"
T = dt.datetime(2026, 11, 1, 10, 0)


def _target(tmp_path, name="t"):
    return Target(
        dataset=name,
        path=str(tmp_path / name),
        metrics_path=str(tmp_path / "_expectations"),
        quarantine_path=str(tmp_path / f"{name}_quarantine"),
        resolve=lambda n: str(tmp_path / n),
    )


def _read(spark, path):
    return spark.read.format("delta").load(path)


def _h(hours):
    return T + dt.timedelta(hours=hours)


MERGE = GoldSpec(
    table="usage",
    mode="merge",
    keys=("device_id", "event_ts"),
    transforms=(TransformStep("standardize", {"columns": ["app"], "case": "lower"}),),
)


def test_merge_twice_same_input_same_table_then_upsert(spark, tmp_path):
    target = _target(tmp_path)
    rows = [("d1", T, " Mail", 10, T), ("d2", T, "web", 20, T)]
    batch = spark.createDataFrame(rows, USAGE)
    first = publish_batch(spark, batch, MERGE, target, CTX)
    snapshot = _read(spark, target.path).collect()
    second = publish_batch(spark, batch, MERGE, target, CTX)
    assert (first.rows_read, first.rows_written, second.rows_written) == (2, 2, 0)
    assert_df_equality(
        _read(spark, target.path), spark.createDataFrame(snapshot, USAGE), ignore_row_order=True
    )
    update = spark.createDataFrame([("d1", T, "mail", 11, _h(1)), ("d3", T, "chat", 5, _h(1))], USAGE)
    assert publish_batch(spark, update, MERGE, target, CTX).rows_written == 2
    expected = spark.createDataFrame(
        [("d1", T, "mail", 11, _h(1)), ("d2", T, "web", 20, T), ("d3", T, "chat", 5, _h(1))], USAGE
    )
    assert_df_equality(_read(spark, target.path), expected, ignore_row_order=True, ignore_nullable=True)


def test_merge_source_with_duplicate_keys_names_them(spark, tmp_path):
    batch = spark.createDataFrame(
        [("d1", T, "a", 1, T), ("d1", T, "b", 2, T), ("d1", T, "c", 3, T), ("d2", T, "a", 1, T)], USAGE
    )
    with pytest.raises(PublishError, match=r"d1\|2026-11-01 10:00:00 \(x3\)"):
        publish_batch(spark, batch, MERGE, _target(tmp_path), CTX)
    assert not DeltaTable.isDeltaTable(spark, str(tmp_path / "t"))


def test_a_key_changed_after_the_dedupe_is_still_checked_for_duplicates(spark, tmp_path):
    # The dedupe leaves "D1" and "d1" apart; lower-casing the key afterwards makes them twins,
    # so the merge must not trust the dedupe and skip its duplicate-key check.
    spec = GoldSpec(
        table="usage",
        mode="merge",
        keys=("device_id", "event_ts"),
        transforms=(
            TransformStep("dedupe", {"keys": ["device_id", "event_ts"], "order_by": "_ingested_at desc"}),
            TransformStep("standardize", {"columns": ["device_id"], "case": "lower"}),
        ),
    )
    batch = spark.createDataFrame([("D1", T, "a", 1, T), ("d1", T, "b", 2, T)], USAGE)
    with pytest.raises(PublishError, match=r"d1\|2026-11-01 10:00:00 \(x2\)"):
        publish_batch(spark, batch, spec, _target(tmp_path), CTX)
    assert not DeltaTable.isDeltaTable(spark, str(tmp_path / "t"))


SCD2 = GoldSpec(
    table="cfg",
    mode="scd2",
    keys=("device_id",),
    scd2=Scd2Spec(track=("os_version", "model"), effective_from="snapshot_ts"),
)
HISTORY = CONFIG + ", valid_from timestamp, valid_to timestamp, is_current boolean"


def test_scd2_versions_in_one_batch_then_close_open_and_no_write_when_unchanged(spark, tmp_path):
    target = _target(tmp_path)
    first = spark.createDataFrame(
        [
            ("d1", _h(2), "os2", "x1"),
            ("d1", _h(0), "os1", "x1"),
            ("d1", _h(1), "os1", "x1"),
            ("d2", _h(0), "os1", "s"),
        ],
        CONFIG,
    )
    publish_batch(spark, first, SCD2, target, CTX)
    expected = [
        ("d1", _h(0), "os1", "x1", _h(0), _h(2), False),
        ("d1", _h(2), "os2", "x1", _h(2), None, True),
        ("d2", _h(0), "os1", "s", _h(0), None, True),
    ]
    assert_df_equality(
        _read(spark, target.path),
        spark.createDataFrame(expected, HISTORY),
        ignore_row_order=True,
        ignore_nullable=True,
    )
    v1 = table_version(spark, target.path)
    unchanged = spark.createDataFrame([("d1", _h(5), "os2", "x1"), ("d2", _h(5), "os1", "s")], CONFIG)
    assert publish_batch(spark, unchanged, SCD2, target, CTX).rows_written == 0
    assert table_version(spark, target.path) == v1  # nothing written, no new Delta version
    change = spark.createDataFrame([("d1", _h(6), "os2", "x1"), ("d2", _h(6), "os3", "s")], CONFIG)
    publish_batch(spark, change, SCD2, target, CTX)
    expected[2] = ("d2", _h(0), "os1", "s", _h(0), _h(6), False)
    expected.append(("d2", _h(6), "os3", "s", _h(6), None, True))
    assert_df_equality(
        _read(spark, target.path),
        spark.createDataFrame(expected, HISTORY),
        ignore_row_order=True,
        ignore_nullable=True,
    )
    assert table_version(spark, target.path) == v1 + 1  # close and open in one commit
    publish_batch(spark, change, SCD2, target, CTX)  # replayed batch
    assert table_version(spark, target.path) == v1 + 1


def test_append_and_overwrite_partitions(spark, tmp_path):
    append = GoldSpec(table="a", mode="append")
    target = _target(tmp_path, "a")
    batch = spark.createDataFrame([("d1", T, "x", 1, T)], USAGE)
    publish_batch(spark, batch, append, target, CTX)
    publish_batch(spark, batch, append, target, CTX)
    assert _read(spark, target.path).count() == 2
    daily = "day date, device_id string, events long"
    spec = GoldSpec(table="daily", mode="overwrite_partitions", partition_by=("day",))
    target = _target(tmp_path, "daily")
    d1, d2 = dt.date(2026, 11, 1), dt.date(2026, 11, 2)
    publish_batch(spark, spark.createDataFrame([(d1, "a", 1), (d2, "a", 2)], daily), spec, target, CTX)
    publish_batch(spark, spark.createDataFrame([(d2, "a", 5), (d2, "b", 1)], daily), spec, target, CTX)
    expected = spark.createDataFrame([(d1, "a", 1), (d2, "a", 5), (d2, "b", 1)], daily)
    assert_df_equality(_read(spark, target.path), expected, ignore_row_order=True, ignore_nullable=True)


def test_fail_rule_leaves_gold_at_previoustable_version(spark, tmp_path):
    target = _target(tmp_path)
    spec = GoldSpec(
        table="usage",
        mode="merge",
        keys=("device_id", "event_ts"),
        expectations=(Expectation("mem_positive", "row", "fail", rule="mem_mb > 0", threshold=0.1),),
    )
    publish_batch(spark, spark.createDataFrame([("d1", T, "a", 1, T)], USAGE), spec, target, CTX)
    before = table_version(spark, target.path)
    bad = spark.createDataFrame(
        [("d1", T, "a", -1, _h(1)), ("d2", T, "a", 0, _h(1)), ("d3", T, "a", 3, _h(1))], USAGE
    )
    with pytest.raises(QualityError, match="mem_positive") as info:
        publish_batch(spark, bad, spec, target, CTX)
    assert info.value.rows_failed == 2 and info.value.threshold == 0.1
    assert sorted(info.value.sample_keys) == ["d1|2026-11-01 10:00:00", "d2|2026-11-01 10:00:00"]
    assert table_version(spark, target.path) == before
    assert DeltaTable.forPath(spark, target.path).history().count() == before + 1
    assert _read(spark, target.path).collect()[0].mem_mb == 1
    metrics = _read(spark, target.metrics_path).where("not passed").collect()
    assert [(m.rule, m.rows_failed) for m in metrics] == [("mem_positive", 2)]


def test_drop_rule_quarantines_rows_with_rule_names(spark, tmp_path):
    target = _target(tmp_path)
    spec = GoldSpec(
        table="usage",
        mode="merge",
        keys=("device_id", "event_ts"),
        transforms=(
            TransformStep("dedupe", {"keys": ["device_id", "event_ts"], "order_by": "_ingested_at desc"}),
        ),
        expectations=(Expectation("mem_positive", "row", "drop", rule="mem_mb > 0"),),
    )
    batch = spark.createDataFrame(
        [("d1", T, "a", 5, T), ("d1", T, "a", 6, _h(1)), ("d2", T, "a", None, T)], USAGE
    )
    out = publish_batch(spark, batch, spec, target, CTX)
    assert (out.rows_read, out.rows_dropped, out.rows_written) == (3, 2, 1)  # 1 duplicate + 1 rule
    assert [r.mem_mb for r in _read(spark, target.path).collect()] == [6]
    quarantined = _read(spark, target.quarantine_path).collect()
    assert [(q.device_id, q._dropped_by, q._gold_run_id) for q in quarantined] == [
        ("d2", ["mem_positive"], "run-1")
    ]
