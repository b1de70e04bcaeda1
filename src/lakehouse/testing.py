"""Helpers for end-to-end fixtures (Nutter notebooks run locally and on Databricks).

They lay out landing files from the shipped samples and read Delta table state; they do no
transformation. A scratch folder has a path for Spark and one for Python file functions; in a
local temp dir and in a Unity Catalog Volume (``/Volumes/...``) both are the same folder.

Settings (environment variables, e.g. ``spark_env_vars`` of the bundle's integration job):

- ``LAKEHOUSE_SCRATCH``: the folder scratch folders are created in. Required on Databricks,
  where it is a Volume folder such as ``/Volumes/main/lakehouse_dev/scratch``; locally the
  default is the system temp dir.
- ``LAKEHOUSE_SAMPLES``: the shipped samples; default ``samples`` in the working directory or
  its parent (a fixture deployed with the bundle runs in ``<bundle files>/integration_tests``).
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

from lakehouse.errors import LakehouseError

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
    """Create an empty scratch folder under ``$LAKEHOUSE_SCRATCH`` (the temp dir locally)."""
    root = os.environ.get("LAKEHOUSE_SCRATCH")
    if root:
        local = Path(root) / f"{prefix}-{uuid.uuid4().hex[:8]}"
        local.mkdir(parents=True)
    elif ON_DATABRICKS:
        raise LakehouseError(
            "LAKEHOUSE_SCRATCH is not set: on Databricks the fixtures need a Unity Catalog Volume "
            "folder for their tables, e.g. /Volumes/main/lakehouse_dev/scratch (the bundle's "
            "integration_tests job sets it from the scratch_volume variable)"
        )
    else:
        local = Path(tempfile.mkdtemp(prefix=f"{prefix}-"))
    return Scratch(str(local), local)


def samples_dir() -> Path:
    """The shipped samples: ``$LAKEHOUSE_SAMPLES``, else ``samples`` here or one folder up."""
    configured = os.environ.get("LAKEHOUSE_SAMPLES")
    if configured:
        return Path(configured).resolve()
    found = next((c for c in (Path("samples"), Path("..", "samples")) if c.is_dir()), Path("samples"))
    return found.resolve()


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
