"""Silver end to end on Delta: routing, idempotent reruns, increments, WAP threshold, drift."""

from __future__ import annotations

import datetime as dt
import json

import deltalake
import pytest
from chispa import assert_df_equality

from lakehouse.config.model import build_pipeline
from lakehouse.config.node import Origins
from lakehouse.errors import ContractError
from lakehouse.io.delta import table_exists, table_version
from lakehouse.results import RunContext
from lakehouse.silver.runner import process

T0 = dt.datetime(2026, 11, 1, 8, 0)
BRONZE = (
    "device_id string, event_ts string, cpu_pct string, network string, "
    "_source_file string, _file_modified_at timestamp, _ingested_at timestamp, "
    "_run_id string, _rescued_data string"
)


def make_config(root, *, max_rate=None, rescued="quarantine", extra_columns=()):
    """A one-dataset pipeline rooted at ``root`` (nothing read from disk)."""
    contract = {
        "primary_key": ["device_id", "event_ts"],
        "rescued_data": rescued,
        "columns": [
            {"name": "device_id", "nullable": False, "pattern": "^dev-[0-9]{5}$"},
            {"name": "event_ts", "type": "timestamp", "format": "yyyy-MM-dd HH:mm:ss", "nullable": False},
            {"name": "cpu", "source": "cpu_pct", "type": "double", "min": 0, "max": 100},
            {"name": "network", "allowed": ["wifi", "4g", "5g", "offline"]},
            *extra_columns,
        ],
    }
    if max_rate is not None:
        contract["max_quarantine_rate"] = max_rate
    tree = {
        "pipeline": "t",
        "storage": {"root": str(root)},
        "datasets": {"usage": {"source": {"format": "csv", "path": "usage"}, "contract": contract}},
    }
    return build_pipeline(tree, Origins("test.yml"), None, "test.yml")


def land(spark, config, rows, schema=BRONZE, source_file="f1.csv", drift=None):
    """Append rows to the bronze table as the bronze layer would (metadata added if absent;
    ``drift``: the batch's unknown and missing columns by file, recorded in the commit)."""
    width = schema.count(",") + 1
    full = [r if len(r) == width else (*r, source_file, T0, T0, "bronze-run", None) for r in rows]
    writer = (
        spark.createDataFrame(full, schema).write.format("delta").mode("append").option("mergeSchema", "true")
    )
    if drift is not None:
        writer = writer.option("userMetadata", json.dumps({"drift": drift}))
    writer.save(config.dataset("usage").bronze_path)


def _table_rows(spark, ds):
    """Rows in bronze, silver and the quarantine, counted from the Delta tables."""

    def count(path):
        return spark.read.format("delta").load(path).count() if table_exists(spark, path) else 0

    return count(ds.bronze_path), count(ds.silver_path), count(ds.quarantine_path)


def run(spark, config, run_id="silver-1"):
    """Run silver; check its counts against the tables, counted independently before and after."""
    ds = config.dataset("usage")
    _, silver_before, quarantine_before = _table_rows(spark, ds)
    result = process(spark, ds, config, RunContext(run_id, "t"))
    bronze, silver, quarantine = _table_rows(spark, ds)
    assert bronze == silver + quarantine, "every bronze row is in silver or in the quarantine, once"
    assert result.rows_written == silver - silver_before
    if not result.details["skipped_writes"]:  # a replayed batch's quarantine was written before
        assert result.rows_quarantined == quarantine - quarantine_before
        assert result.rows_read == bronze - silver_before - quarantine_before
    return result


def delta_rs_rows(path):
    """Row count read by delta-rs (the `deltalake` package), independent of Spark."""
    table = deltalake.DeltaTable(path)
    try:
        return table.to_pyarrow_table().num_rows
    except ImportError:  # deltalake without pyarrow: read through its own query engine
        reader = deltalake.QueryBuilder().register("t", table).execute("SELECT * FROM t")
        return sum(batch.num_rows for batch in reader)


GOOD = [
    ("dev-00001", "2026-11-01 10:00:00", "12.5", "wifi"),
    ("dev-00002", "2026-11-01 10:00:00", "NA", "4g"),
    ("dev-00003", "2026-11-01 10:00:00", "99", None),
]
BAD = [("dev-12a45", "2026-11-01 10:00:00", "1", "wifi"), ("dev-00004", "2026-13-45 99:00:00", "abc", "wifi")]


def test_first_run_writes_typed_silver_and_readable_quarantine(spark, tmp_path):
    config = make_config(tmp_path)
    land(spark, config, GOOD + BAD)
    result = run(spark, config)
    assert (result.rows_read, result.rows_written, result.rows_quarantined) == (5, 3, 2)
    ds = config.dataset("usage")
    silver = spark.read.format("delta").load(ds.silver_path)
    expected = spark.createDataFrame(
        [
            ("dev-00001", dt.datetime(2026, 11, 1, 10), 12.5, "wifi", "f1.csv", T0, "silver-1"),
            ("dev-00002", dt.datetime(2026, 11, 1, 10), None, "4g", "f1.csv", T0, "silver-1"),
            ("dev-00003", dt.datetime(2026, 11, 1, 10), 99.0, None, "f1.csv", T0, "silver-1"),
        ],
        "device_id string, event_ts timestamp, cpu double, network string, "
        "_source_file string, _ingested_at timestamp, _run_id string",
    )
    assert_df_equality(silver, expected, ignore_row_order=True, ignore_nullable=True)
    quarantine = spark.read.format("delta").load(ds.quarantine_path)
    assert quarantine.columns == [
        "_source_file",
        "_ingested_at",
        "_run_id",
        "_quarantined_at",
        "_raw",
        "_reasons",
    ]
    got = {
        r["_raw"]: sorted((x.column, x.rule, x.value) for x in r["_reasons"]) for r in quarantine.collect()
    }
    assert got == {
        '{"device_id":"dev-12a45","event_ts":"2026-11-01 10:00:00","cpu_pct":"1","network":"wifi"}': [
            ("device_id", "pattern", "dev-12a45")
        ],
        '{"device_id":"dev-00004","event_ts":"2026-13-45 99:00:00","cpu_pct":"abc","network":"wifi"}': [
            ("cpu", "cast", "abc"),
            ("event_ts", "cast", "2026-13-45 99:00:00"),
        ],
    }
    assert result.table_version == table_version(spark, ds.silver_path)
    assert {(r["rule"], r["column"]) for r in result.details["top_reasons"]} == {
        ("pattern", "device_id"),
        ("cast", "cpu"),
        ("cast", "event_ts"),
    }
    # A second Delta implementation reads the same tables.
    assert delta_rs_rows(ds.silver_path) == silver.count() == 3
    assert delta_rs_rows(ds.quarantine_path) == quarantine.count() == 2


def test_rerun_changes_nothing_and_new_rows_are_processed_alone(spark, tmp_path):
    config = make_config(tmp_path)
    ds = config.dataset("usage")
    land(spark, config, GOOD + BAD)
    run(spark, config)
    versions = (table_version(spark, ds.silver_path), table_version(spark, ds.quarantine_path))
    again = run(spark, config, "silver-2")
    assert (again.rows_read, again.rows_written, again.rows_quarantined) == (0, 0, 0)
    assert again.details["batches"] == 0
    assert (table_version(spark, ds.silver_path), table_version(spark, ds.quarantine_path)) == versions
    assert spark.read.format("delta").load(ds.silver_path).count() == 3
    land(spark, config, [("dev-00009", "2026-11-02 10:00:00", "5", "5g"), BAD[0]], source_file="f2.csv")
    third = run(spark, config, "silver-3")
    assert (third.rows_read, third.rows_written, third.rows_quarantined) == (2, 1, 1)
    silver = spark.read.format("delta").load(ds.silver_path)
    assert [r["device_id"] for r in silver.filter("_run_id = 'silver-3'").collect()] == ["dev-00009"]
    assert silver.count() == 4
    assert spark.read.format("delta").load(ds.quarantine_path).count() == 3


def test_threshold_writes_quarantine_not_silver_and_retry_does_not_duplicate(spark, tmp_path):
    config = make_config(tmp_path, max_rate=0.25)
    ds = config.dataset("usage")
    land(spark, config, GOOD)
    run(spark, config)
    silver_version = table_version(spark, ds.silver_path)
    batch = [GOOD[0], *BAD, ("dev-00005", "2026-11-01 11:00:00", "x", "wifi")]
    land(spark, config, batch, source_file="f2.csv")
    with pytest.raises(ContractError) as caught:
        run(spark, config, "silver-2")
    text = str(caught.value)
    assert "quarantine rate 75.00% (3 of 4 rows)" in text
    assert "max_quarantine_rate 25.00%" in text
    assert "cast on cpu (2)" in text and "pattern on device_id (1)" in text
    result = caught.value.result
    assert (result.rows_read, result.rows_written, result.rows_quarantined) == (4, 0, 3)
    assert result.status == "failed" and result.details["rows_held_back"] == 1
    assert table_version(spark, ds.silver_path) == silver_version
    quarantine = lambda: spark.read.format("delta").load(ds.quarantine_path)  # noqa: E731
    assert quarantine().count() == 3
    # The next run replays the same batch: it fails again, the quarantine is not appended twice.
    with pytest.raises(ContractError):
        run(spark, config, "silver-3")
    assert quarantine().count() == 3
    # Once the limit is raised the held-back batch is published, still without duplicates.
    relaxed = make_config(tmp_path, max_rate=0.9)
    done = run(spark, relaxed, "silver-4")
    assert (done.rows_read, done.rows_written, done.rows_quarantined) == (4, 1, 3)
    assert done.details["skipped_writes"] == 1  # the quarantine append was already applied
    assert quarantine().count() == 3
    assert spark.read.format("delta").load(ds.silver_path).count() == 4


def test_bronze_schema_drift_is_reported_and_survived(spark, tmp_path):
    extra = [{"name": "battery", "type": "int"}]
    config = make_config(tmp_path, extra_columns=extra)
    land(spark, config, GOOD[:1], drift={"missing_columns": {"battery": ["f1.csv"]}})
    first = run(spark, config)
    assert first.details["drift"] == {"unknown_columns": [], "missing_columns": ["battery"]}
    wider = BRONZE.replace("network string,", "network string, firmware string,")
    row = ("dev-00007", "2026-11-03 10:00:00", "1", "wifi", "1.2.3", "f3.csv", T0, T0, "b", None)
    drift = {"unknown_columns": {"firmware": ["f3.csv"]}, "missing_columns": {"battery": ["f3.csv"]}}
    land(spark, config, [row], schema=wider, drift=drift)
    second = run(spark, config, "silver-2")
    assert (second.rows_read, second.rows_written) == (1, 1)
    assert second.details["drift"] == {"unknown_columns": ["firmware"], "missing_columns": ["battery"]}
    silver = spark.read.format("delta").load(config.dataset("usage").silver_path)
    assert "firmware" not in silver.columns and silver.schema["battery"].dataType.simpleString() == "int"


def test_rescued_rows_flagged_stay_in_silver(spark, tmp_path):
    config = make_config(tmp_path, rescued="flag")
    rows = [(*GOOD[0], "f.csv", T0, T0, "b", '{"_extra":"1"}')]
    land(spark, config, rows, schema=BRONZE)
    result = run(spark, config)
    assert (result.rows_written, result.rows_quarantined) == (1, 0)
    silver = spark.read.format("delta").load(config.dataset("usage").silver_path)
    assert silver.columns[-1] == "_rescued_data"
    assert silver.first()["_rescued_data"] == '{"_extra":"1"}'


def test_a_range_written_but_not_committed_is_replayed_exactly_once(spark, tmp_path):
    """As if a run died after its Delta commits and before its state commit; bronze moved on."""
    config = make_config(tmp_path)
    ds = config.dataset("usage")
    state_file = tmp_path / "_checkpoints/silver/usage/state.json"
    land(spark, config, GOOD)
    run(spark, config)
    committed = json.loads(state_file.read_text())
    before = {t: table_version(spark, t) for t in (ds.silver_path, ds.quarantine_path)}
    land(spark, config, [("dev-00009", "2026-11-02 10:00:00", "5", "5g"), BAD[0]], source_file="f2.csv")
    end = table_version(spark, ds.bronze_path)
    second = run(spark, config, "silver-2")
    assert (second.rows_read, second.rows_written, second.rows_quarantined) == (2, 1, 1)
    versions = (table_version(spark, ds.silver_path), table_version(spark, ds.quarantine_path))
    plan = {"start": committed["consumed"] + 1, "end": end, "before": before}
    state_file.write_text(json.dumps({**committed, "plan": plan}))
    land(spark, config, [("dev-00010", "2026-11-03 10:00:00", "7", "wifi")], source_file="f3.csv")

    replay = process(spark, ds, config, RunContext("silver-3", "t"))
    assert (replay.rows_read, replay.rows_written, replay.rows_quarantined) == (2, 1, 1)
    assert replay.details["skipped_writes"] == 2  # both appends were already in Delta
    assert (table_version(spark, ds.silver_path), table_version(spark, ds.quarantine_path)) == versions
    assert json.loads(state_file.read_text())["consumed"] == end
    last = run(spark, config, "silver-4")  # then the row that landed meanwhile, alone
    assert (last.rows_read, last.rows_written, last.rows_quarantined) == (1, 1, 0)
    assert spark.read.format("delta").load(ds.silver_path).count() == 5
