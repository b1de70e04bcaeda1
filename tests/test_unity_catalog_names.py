"""Tables by Unity Catalog-style name (``catalog.schema.table``), tested through the session catalog.

The sample pipeline runs with ``storage.tables`` naming a catalog and one schema per layer;
every table is then written and read by name, nothing by path, a rerun changes nothing, and
delta-rs (a second Delta implementation) reads the same row counts from the tables' locations.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import deltalake
import pytest

from lakehouse import testing
from lakehouse.config import load_config
from lakehouse.errors import ConfigError
from lakehouse.io.delta import table_version
from lakehouse.ledger import read_ledger
from lakehouse.operations import status
from lakehouse.pipeline import run_pipeline

REPO = Path(__file__).resolve().parents[1]
LAYERS = ("bronze", "silver", "gold", "ops")
TABLES = {
    "bronze": ("usage", "device_config"),
    "silver": ("usage", "usage_quarantine", "device_config"),
    "gold": ("usage", "usage_quarantine", "device_config_history", "daily_device_usage"),
    "ops": ("lakehouse_runs", "lakehouse_expectations"),
}


def _location(spark: Any, name: str) -> str:
    rows = spark.sql(f"DESCRIBE TABLE EXTENDED {name}").collect()
    found = [str(r[1]) for r in rows if r[0] == "Location"]
    assert found, f"no Location for {name}"
    return found[0].removeprefix("file:")


def _delta_rs_rows(location: str) -> int:
    return deltalake.DeltaTable(location).to_pyarrow_table().num_rows


@pytest.mark.slow
def test_a_pipeline_with_table_names_writes_and_reads_every_table_by_name(spark: Any, tmp_path: Path) -> None:
    os.environ.setdefault("LAKEHOUSE_PII_SALT", "test-salt")
    suffix = uuid.uuid4().hex[:8]
    schemas = {layer: f"lh_{layer}_{suffix}" for layer in LAYERS}
    for schema in schemas.values():
        spark.sql(f"CREATE SCHEMA spark_catalog.{schema} LOCATION '{tmp_path / 'warehouse' / schema}'")
    storage = {
        "root": str(tmp_path / "root"),
        "landing": str(tmp_path / "landing"),
        "checkpoints": str(tmp_path / "state"),
        "tables": {"catalog": "spark_catalog", "schemas": schemas},
    }
    config = load_config(REPO / "conf/pipelines/devices.yml", "local", overrides={"storage": storage})
    testing.land_day("2026-11-01", tmp_path / "landing", REPO / "samples")

    first = run_pipeline(spark, config, run_id="uc-1")
    assert first.status == "succeeded", first.error
    names = {f"spark_catalog.{schemas[layer]}.{t}": (layer, t) for layer, ts in TABLES.items() for t in ts}
    assert {n for n in names if spark.catalog.tableExists(n)} == set(names)
    assert not (tmp_path / "root").exists(), "a table was written by path under the root"

    counts = {n: spark.table(n).count() for n in names}
    usage = first.result("usage", "silver")
    assert usage is not None
    assert counts[f"spark_catalog.{schemas['silver']}.usage"] == usage.rows_written > 0
    assert counts[f"spark_catalog.{schemas['bronze']}.usage"] == usage.rows_read
    # The ledger: a running and an end event per layer, read back by name as one state each.
    assert counts[f"spark_catalog.{schemas['ops']}.lakehouse_runs"] == 2 * len(first.results)
    states = {(r.dataset, r.layer): r.status for r in read_ledger(spark, config).collect()}
    assert states == {(r.dataset, r.layer): r.status for r in first.results}
    found = status(spark, config)
    assert {(e["dataset"], e["layer"]): e["run_id"] for e in found["layers"]} == {
        (r.dataset, r.layer): "uc-1" for r in first.results
    }
    assert {g["table"]: g["version"] for g in found["gold"]} == {
        n: table_version(spark, n)
        for n, (layer, t) in names.items()
        if layer == "gold" and "quarantine" not in t
    }
    for name, count in counts.items():
        assert _delta_rs_rows(_location(spark, name)) == count, name

    versions = {n: table_version(spark, n) for n in names}
    again = run_pipeline(spark, config, run_id="uc-2")
    assert again.status == "succeeded", again.error
    assert all(r.rows_written == 0 and r.rows_read == 0 for r in again.results)
    changed = {n for n in names if table_version(spark, n) != versions[n]}
    assert changed == {f"spark_catalog.{schemas['ops']}.lakehouse_runs"}  # the ledger records the run


@pytest.mark.parametrize(
    ("tables", "key"),
    [
        ({"catalog": "main.x"}, "storage.tables.catalog"),
        ({"catalog": "main", "schemas": {"silver": "a b"}}, "storage.tables.schemas.silver"),
        ({"schemas": {"silver": "s"}}, "storage.tables.catalog"),
        ({"catalog": "main", "schemas": {"platinum": "p"}}, "storage.tables.schemas.platinum"),
    ],
)
def test_a_malformed_table_name_is_a_config_error_naming_the_key(tables: dict[str, Any], key: str) -> None:
    storage = {"root": "/tmp/lh", "tables": tables}
    with pytest.raises(ConfigError) as caught:
        load_config(REPO / "conf/pipelines/devices.yml", "local", overrides={"storage": storage})
    assert caught.value.key_path == key


def _usage(storage: dict[str, Any], paths: dict[str, str] | None = None) -> Any:
    overrides: dict[str, Any] = {"storage": storage}
    if paths is not None:
        overrides["datasets"] = {"usage": {"paths": paths}}
    return load_config(REPO / "conf/pipelines/devices.yml", "local", overrides=overrides).dataset("usage")


def test_with_a_catalog_every_default_table_is_a_name_in_its_layers_schema() -> None:
    storage = {"root": "/tmp/lh", "tables": {"catalog": "main", "schemas": {"ops": "lakehouse_ops"}}}
    config = load_config(REPO / "conf/pipelines/devices.yml", "local", overrides={"storage": storage})
    usage = config.dataset("usage")
    assert (usage.bronze_path, usage.silver_path, usage.quarantine_path) == (
        "main.bronze.usage",
        "main.silver.usage",
        "main.silver.usage_quarantine",
    )
    assert config.storage.runs == "main.lakehouse_ops.lakehouse_runs"
    assert config.storage.metrics == "main.lakehouse_ops.lakehouse_expectations"
    assert config.storage.checkpoint("silver", "usage") == "/tmp/lh/_checkpoints/silver/usage"


@pytest.mark.parametrize(
    ("tables", "given", "expected"),
    [
        ({"catalog": "main"}, "curated.usage", "main.curated.usage"),
        ({"catalog": "main"}, "usage_v2", "main.silver.usage_v2"),
        ({"catalog": "main"}, "other.curated.usage", "other.curated.usage"),
        (None, "other.curated.usage", "other.curated.usage"),
        (None, "silver/usage_v2", "/tmp/lh/silver/usage_v2"),
        (None, "usage.v2", "/tmp/lh/usage.v2"),
    ],
)
def test_paths_may_name_a_table(tables: dict[str, Any] | None, given: str, expected: str) -> None:
    storage: dict[str, Any] = {"root": "/tmp/lh"}
    if tables:
        storage["tables"] = tables
    assert _usage(storage, {"silver": given}).silver_path == expected


def test_a_malformed_table_name_in_paths_names_its_key() -> None:
    with pytest.raises(ConfigError) as caught:
        _usage({"root": "/tmp/lh", "tables": {"catalog": "main"}}, {"silver": "a.b.c.d"})
    assert caught.value.key_path == "datasets.usage.paths.silver"


def test_a_root_that_reads_like_a_table_name_is_refused() -> None:
    with pytest.raises(ConfigError) as caught:
        _usage({"root": "main.lake"})
    assert caught.value.key_path == "storage.root"
