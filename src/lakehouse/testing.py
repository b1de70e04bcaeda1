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

import csv
import gzip
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


# Planted defects of the sample usage files that the sample contract sends to the quarantine.
QUARANTINED_DEFECTS = frozenset(
    {
        "bad_type",
        "bad_timestamp",
        "out_of_range",
        "bad_pattern",
        "too_many_fields",
        "too_few_fields",
        "duplicate",
    }
)
NULL_TOKENS = frozenset({"", "NA", "N/A", "null", "NULL"})


def gold_usage_rows(samples: Path | None = None, day: str | None = None) -> list[dict[str, str]]:
    """The landed sample usage rows (of ``day``, else all days) the sample pipeline publishes.

    Derived from the landing files and the manifest alone, without Spark or lakehouse code:
    every landed row except those the manifest lists with a defect silver quarantines and
    those gold's drop rule ``mem_mb > 0`` removes. Values are the text as landed.
    """
    samples = samples or samples_dir()
    found = manifest(samples)
    skip = {(d["file"], d["line"]) for d in found["defects"] if d["kind"] in QUARANTINED_DEFECTS}
    rows = []
    for entry in found["files"]:
        if entry["dataset"] != "usage" or not entry["header"] or day not in (None, entry["day"]):
            continue
        with gzip.open(samples / entry["path"], "rt", encoding="utf-8-sig", newline="") as f:
            for line, values in enumerate(csv.reader(f), start=1):
                if line == 1 or (entry["path"], line) in skip:
                    continue
                row = dict(zip(entry["header"], values, strict=True))
                if row["mem_mb"] not in NULL_TOKENS and int(row["mem_mb"]) > 0:
                    rows.append(row)
    return rows


def delta_versions(spark: SparkSession, paths: dict[str, str]) -> dict[str, int | None]:
    """Latest Delta version of each named table (None where there is no table)."""
    from lakehouse.io.delta import table_version

    return {name: table_version(spark, path) for name, path in paths.items()}
