"""Helpers for end-to-end fixtures (Nutter notebooks run locally and on Databricks).

They lay out landing files from the shipped samples and read Delta table state; they do no
transformation. Paths come in pairs because on Databricks Spark sees ``dbfs:/x`` where Python
file functions see ``/dbfs/x``; locally both are the same folder.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

ON_DATABRICKS = "DATABRICKS_RUNTIME_VERSION" in os.environ


@dataclass(frozen=True)
class Scratch:
    """A fresh folder for one fixture: ``spark_path`` for config, ``local_path`` for files."""

    spark_path: str
    local_path: Path

    def spark(self, *parts: str) -> str:
        return "/".join([self.spark_path.rstrip("/"), *parts])

    def local(self, *parts: str) -> Path:
        return self.local_path.joinpath(*parts)


def new_scratch(prefix: str = "lakehouse-it") -> Scratch:
    """Create an empty scratch folder (under /dbfs/tmp on Databricks, the temp dir locally)."""
    if ON_DATABRICKS:
        name = f"{prefix}-{uuid.uuid4().hex[:8]}"
        local = Path("/dbfs/tmp") / name
        local.mkdir(parents=True)
        return Scratch(f"dbfs:/tmp/{name}", local)
    local = Path(tempfile.mkdtemp(prefix=f"{prefix}-"))
    return Scratch(str(local), local)


def samples_dir() -> Path:
    """The shipped samples: deployed copy on Databricks, ``./samples`` (or $LAKEHOUSE_SAMPLES)."""
    if ON_DATABRICKS:
        return Path("/dbfs/FileStore/lakehouse/samples")
    return Path(os.environ.get("LAKEHOUSE_SAMPLES", "samples")).resolve()


def manifest(samples: Path | None = None) -> dict[str, Any]:
    """The sample data manifest (per file row counts and deliberate defects)."""
    return json.loads(((samples or samples_dir()) / "MANIFEST.json").read_text())


def land_day(day: str, landing: Path, samples: Path | None = None) -> dict[str, int]:
    """Copy every sample file of ``day`` into ``landing/<dataset>/<day>/``.

    Returns the data rows landed per dataset, from the manifest.
    """
    samples = samples or samples_dir()
    rows: dict[str, int] = {}
    for entry in manifest(samples)["files"]:
        if entry["day"] != day:
            continue
        source = samples / entry["path"]
        target = landing / entry["dataset"] / day / source.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        rows[entry["dataset"]] = rows.get(entry["dataset"], 0) + entry["data_rows"]
    return rows


def delta_version(spark: SparkSession, path: str) -> int | None:
    """The latest Delta version of the table at ``path``, or None if there is no table."""
    from delta.tables import DeltaTable

    if not DeltaTable.isDeltaTable(spark, path):
        return None
    return int(DeltaTable.forPath(spark, path).history(1).collect()[0]["version"])


def delta_versions(spark: SparkSession, paths: dict[str, str]) -> dict[str, int | None]:
    """Latest Delta version of each named table."""
    return {name: delta_version(spark, path) for name, path in paths.items()}
