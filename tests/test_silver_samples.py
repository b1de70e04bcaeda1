"""The shipped sample data through bronze and silver: every planted defect is accounted for."""

from __future__ import annotations

import collections
import json

import pytest
from pyspark.sql import functions as F  # noqa: N812

from lakehouse.config.model import load_config
from lakehouse.pipeline import run_pipeline

# Planted defect kind -> the (rule, column) silver quarantines it with. Defects not listed are
# fixed by conforming (null tokens, BOM, spellings of booleans) or are gold's business
# (negative mem_mb, duplicates delivered in a later batch).
QUARANTINED_AS = {
    "bad_type": ("cast", "cpu_pct"),
    "bad_timestamp": ("cast", "event_ts"),
    "out_of_range": ("max", "cpu_pct"),
    "bad_pattern": ("pattern", "device_id"),
    "too_many_fields": ("extra_fields", "_rescued_data"),  # fields beyond the header (issue 11)
    "too_few_fields": ("rescued_data", "_rescued_data"),
    "unknown_value": ("allowed", "model"),
    "missing_key": ("not_null", "device_id"),
    "duplicate": ("duplicate_key", "device_id,event_ts"),
}


@pytest.mark.slow
def test_sample_pipeline_routes_every_row(spark, tmp_path, repo_root, monkeypatch):
    monkeypatch.setenv("LAKEHOUSE_PII_SALT", "sample-salt")
    environ = {
        "LAKEHOUSE_ROOT": str(tmp_path),
        "LAKEHOUSE_LANDING": str(repo_root / "samples/landing"),
        "LAKEHOUSE_PII_SALT": "sample-salt",
    }
    config = load_config(repo_root / "conf/pipelines/devices.yml", env="local", environ=environ)
    summary = run_pipeline(spark, config, layers=("bronze", "silver"), record=False)
    assert summary.status == "succeeded", summary.error

    manifest = json.loads((repo_root / "samples/MANIFEST.json").read_text())
    expected = collections.Counter(
        QUARANTINED_AS[d["kind"]] for d in manifest["defects"] if d["kind"] in QUARANTINED_AS
    )
    found: collections.Counter[tuple[str, str]] = collections.Counter()
    for name in ("usage", "device_config"):
        result = summary.result(name, "silver")
        bronze = summary.result(name, "bronze")
        assert result is not None and bronze is not None
        assert result.rows_read == bronze.rows_written == result.rows_written + result.rows_quarantined
        reasons = (
            spark.read.format("delta")
            .load(config.dataset(name).quarantine_path)
            .select(F.explode("_reasons").alias("r"))
            .groupBy("r.rule", "r.column")
            .count()
        )
        found.update({(r["rule"], r["column"]): r["count"] for r in reasons.collect()})
    # Every sample batch arrives in one run here, so re-delivered duplicates are in-batch too.
    assert found == expected
    usage = spark.read.format("delta").load(config.dataset("usage").silver_path)
    # owner_email is pii: hash -> 64 hex characters, never an address.
    assert usage.filter(F.col("owner_email").contains("@")).count() == 0
    assert usage.schema["owner_email"].dataType.simpleString() == "string"
    assert usage.filter(F.length("owner_email") != 64).count() == 0
