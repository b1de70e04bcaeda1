"""Auto Loader's engine choice and option mapping (pure; Auto Loader itself runs only on Databricks)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from lakehouse.bronze.autoloader import AUTOLOADER, FILES, engine, options
from lakehouse.config.model import SourceConfig

CSV = SourceConfig(format="csv", path="/Volumes/main/landing/files/usage", options={"header": "true"})


@pytest.mark.parametrize(
    ("configured", "environ", "expected"),
    [
        ("auto", {"DATABRICKS_RUNTIME_VERSION": "16.4"}, AUTOLOADER),
        ("auto", {}, FILES),
        ("files", {"DATABRICKS_RUNTIME_VERSION": "16.4"}, FILES),
        ("autoloader", {}, AUTOLOADER),
    ],
)
def test_engine_auto_means_auto_loader_on_databricks_only(configured, environ, expected) -> None:
    assert engine(replace(CSV, engine=configured), environ) == expected


def test_csv_source_maps_to_cloud_files_options() -> None:
    source = replace(
        CSV,
        options={"header": "true", "sep": ";", "rescuedDataColumn": "mine"},
        schema_evolution="rescue",
        max_files_per_batch=250,
        pattern="*.csv.gz",
    )
    assert options(source, "/Volumes/main/ops/state/bronze/usage/autoloader/schema") == {
        "cloudFiles.format": "csv",
        "cloudFiles.schemaLocation": "/Volumes/main/ops/state/bronze/usage/autoloader/schema",
        "cloudFiles.schemaEvolutionMode": "rescue",
        "cloudFiles.maxFilesPerTrigger": "250",
        "cloudFiles.includeExistingFiles": "true",
        "cloudFiles.inferColumnTypes": "false",
        "cloudFiles.allowOverwrites": "true",
        "rescuedDataColumn": "_rescued_data",
        "header": "true",
        "pathGlobFilter": "*.csv.gz",
        "sep": ";",
    }


@pytest.mark.parametrize("mode", ["addNewColumns", "rescue", "failOnNewColumns", "none"])
def test_every_schema_evolution_mode_has_its_auto_loader_name(mode: str) -> None:
    parquet = SourceConfig(format="parquet", path="abfss://l@a.dfs.core.windows.net/x", schema_evolution=mode)
    found = options(parquet, "/s")
    assert found["cloudFiles.schemaEvolutionMode"] == mode
    assert "cloudFiles.inferColumnTypes" not in found and "header" not in found


@pytest.mark.parametrize(("mode", "expected"), [("reingest", "true"), ("ignore", None), ("fail", None)])
def test_on_file_change_maps_to_allow_overwrites(mode: str, expected: str | None) -> None:
    assert options(replace(CSV, on_file_change=mode), "/s").get("cloudFiles.allowOverwrites") == expected
