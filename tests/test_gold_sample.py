"""The sample pipeline's usage dataset from landing to gold, against committed expected rows."""

from __future__ import annotations

import datetime as dt

import pytest
from chispa import assert_df_equality
from delta.tables import DeltaTable

from lakehouse.config.model import load_config
from lakehouse.pipeline import run_pipeline

COLUMNS = "device_id string, event_ts timestamp, app string, cpu_pct double, mem_mb int, " \
          "battery_pct int, network string"


def _ts(h, m, s):
    return dt.datetime(2026, 11, 1, h, m, s)


# Gold rows of one device on the first sample day (apps and networks standardized).
EXPECTED_DEV_00007 = [
    ("dev-00007", _ts(1, 14, 19), "spotify", 36.1, 3611, 79, "wifi"),
    ("dev-00007", _ts(3, 9, 51), "chrome", 47.7, 580, 39, "offline"),
    ("dev-00007", _ts(4, 3, 40), "outlook", 65.8, 4389, 48, "wifi"),
    ("dev-00007", _ts(5, 10, 58), "teams", 29.3, 3731, 0, "wifi"),
    ("dev-00007", _ts(11, 55, 25), "chrome", 60.2, 4315, 9, "4g"),
    ("dev-00007", _ts(18, 51, 43), "spotify", 49.4, 1606, 0, "offline"),
    ("dev-00007", _ts(19, 39, 59), "vscode", 92.7, 6948, 63, "offline"),
    ("dev-00007", _ts(21, 39, 6), "vscode", 34.8, 6997, 51, "offline"),
    ("dev-00007", _ts(22, 16, 49), "outlook", 84.6, 7063, 67, "5g"),
    ("dev-00007", _ts(23, 0, 48), "spotify", 80.1, 6479, 37, "4g"),
    ("dev-00007", _ts(23, 3, 33), "slack", 65.9, 4832, 46, "wifi"),
]


@pytest.mark.slow
def test_sample_usage_gold_matches_expected_and_rerun_is_a_noop(spark, repo_root, tmp_path, monkeypatch):
    monkeypatch.setenv("LAKEHOUSE_PII_SALT", "test-salt")
    environ = {"LAKEHOUSE_ROOT": str(tmp_path), "LAKEHOUSE_LANDING": str(repo_root / "samples/landing"),
               "LAKEHOUSE_PII_SALT": "test-salt"}
    config = load_config(repo_root / "conf/pipelines/devices.yml", environ=environ)
    summary = run_pipeline(spark, config, datasets=["usage"], record=False)
    silver, gold = summary.result("usage", "silver"), summary.result("usage", "gold")
    assert gold is not None and gold.status == "succeeded", summary.to_dict()
    assert gold.rows_read == silver.rows_written
    table = spark.read.format("delta").load(config.storage.table("gold", "usage"))
    assert table.count() == gold.rows_read - gold.rows_dropped == gold.rows_written
    actual = table.where("device_id = 'dev-00007' and to_date(event_ts) = '2026-11-01'").selectExpr(
        *[c.split()[0] for c in COLUMNS.split(", ")])
    assert_df_equality(actual, spark.createDataFrame(EXPECTED_DEV_00007, COLUMNS), ignore_row_order=True,
                       ignore_nullable=True)
    version = DeltaTable.forPath(spark, config.storage.table("gold", "usage")).history(1).collect()[0][0]
    again = run_pipeline(spark, config, datasets=["usage"], record=False).result("usage", "gold")
    assert (again.rows_read, again.rows_written, again.table_version) == (0, 0, version)
