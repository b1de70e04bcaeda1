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


def run_notebook_pipeline(
    dbutils: Any, notebook: str, pipeline: str, env: str, scratch: Scratch
) -> dict[str, Any]:
    """Run the orchestration ``notebook`` for ``pipeline`` on the scratch folder's ``lake`` and
    ``landing`` (``dbutils.notebook.run``, failures reported, not raised); its JSON summary."""
    exit_value = dbutils.notebook.run(
        notebook,
        1800,
        {
            "pipeline": pipeline,
            "env": env,
            "root": scratch.spark("lake"),
            "landing": scratch.spark("landing"),
            "fail_on_error": "false",
        },
    )
    found = json.loads(exit_value)
    return found if isinstance(found, dict) else {}


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


def land_day(
    day: str,
    landing: Path,
    samples: Path | None = None,
    datasets: tuple[str, ...] | None = None,
    suffix: str = "",
) -> dict[str, int]:
    """Copy every sample file of ``day`` (of ``datasets``, default all) into
    ``landing/<dataset>/<day>/``; ``suffix`` goes before the file's extensions (the same file
    delivered again under a new name).

    Returns the data rows landed per dataset, from the manifest.
    """
    samples = samples or samples_dir()
    rows: dict[str, int] = {}
    for entry in manifest(samples)["files"]:
        if entry["day"] != day or (datasets is not None and entry["dataset"] not in datasets):
            continue
        source = samples / entry["path"]
        base, dot, extensions = source.name.partition(".")
        target = landing / entry["dataset"] / day / f"{base}{suffix}{dot}{extensions}"
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


# --- the customers change feed: gold expected from the landed files, in plain Python ----------

CUSTOMER_VALUES = ("name", "city", "plan")


def customer_changes(day: str, samples: Path | None = None) -> list[dict[str, Any]]:
    """The landed sample customer changes of ``day`` (every row, duplicates included), as dicts
    with ``changed_at`` a datetime and ``change_seq`` an int."""
    from datetime import datetime

    samples = samples or samples_dir()
    out = []
    for entry in manifest(samples)["files"]:
        if entry["dataset"] != "customers" or entry["day"] != day:
            continue
        with open(samples / entry["path"], newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                row["changed_at"] = datetime.strptime(row["changed_at"], "%Y-%m-%d %H:%M:%S")
                out.append({**row, "change_seq": int(row["change_seq"])})
    return out


def _seq(change: dict[str, Any]) -> tuple[Any, int]:
    return (change["changed_at"], change["change_seq"])


def _values(change: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(change[c] for c in CUSTOMER_VALUES)


def expected_customers_scd1(
    batches: list[list[dict[str, Any]]],
) -> tuple[dict[str, dict], list[dict[str, int]]]:
    """SCD1 gold after applying ``batches`` in order, as docs/gold.md states it, and each batch's
    buckets: per key, a change with a sequence gold or the batch already had is a duplicate, one
    older than the newest gold holds is stale, the others apply one by one in sequence order."""
    rows: dict[str, dict[str, Any]] = {}
    deletes: dict[str, set[tuple[Any, int]]] = {}
    counts = []
    for batch in batches:
        n = dict.fromkeys(("inserted", "updated", "deleted", "stale", "duplicate", "no_op"), 0)
        for key in sorted({c["customer_id"] for c in batch}):
            known = set(deletes.get(key, set())) | ({_seq(rows[key])} if key in rows else set())
            newest = max(known) if known else None
            for change in sorted((c for c in batch if c["customer_id"] == key), key=_seq):
                seq = _seq(change)
                if seq in known:
                    n["duplicate"] += 1
                    continue
                if newest is not None and seq < newest:
                    n["stale"] += 1
                    continue
                known.add(seq)
                if change["op"] == "D":
                    n["deleted"] += 1
                    deletes.setdefault(key, set()).add(seq)
                    rows.pop(key, None)
                    continue
                before = rows.get(key)
                n[
                    "inserted"
                    if before is None
                    else "no_op"
                    if _values(before) == _values(change)
                    else "updated"
                ] += 1
                rows[key] = change
        counts.append(n)
    return rows, counts


def expected_customers_scd2(
    batches: list[list[dict[str, Any]]],
) -> tuple[list[dict[str, Any]], list[dict[str, int]]]:
    """SCD2 history after ``batches``: every distinct (key, sequence) change ever received, replayed
    in sequence order; an upsert equal to the open version opens none. Buckets per batch: a
    change seen before is a duplicate, the others count by the event before them in that order."""
    seen: dict[tuple[str, Any], dict[str, Any]] = {}
    counts = []
    for batch in batches:
        n = dict.fromkeys(("inserted", "updated", "deleted", "stale", "duplicate", "no_op"), 0)
        new = []
        for change in batch:
            key = (change["customer_id"], _seq(change))
            if key in seen:
                n["duplicate"] += 1
            else:
                seen[key] = change
                new.append(change)
        for change in new:
            timeline = sorted((c for (k, _), c in seen.items() if k == change["customer_id"]), key=_seq)
            before = timeline[timeline.index(change) - 1] if timeline.index(change) else None
            if change["op"] == "D":
                n["deleted"] += 1
            elif before is None or before["op"] == "D":
                n["inserted"] += 1
            else:
                n["no_op" if _values(before) == _values(change) else "updated"] += 1
        counts.append(n)
    versions: list[dict[str, Any]] = []
    for customer in sorted({k for k, _ in seen}):
        open_version: dict[str, Any] | None = None
        for change in sorted((c for (k, _), c in seen.items() if k == customer), key=_seq):
            if change["op"] != "D" and open_version is not None and _values(open_version) == _values(change):
                continue
            if open_version is not None:
                open_version["valid_to"], open_version["is_current"] = change["changed_at"], False
                open_version = None
            if change["op"] != "D":
                open_version = {
                    **change,
                    "valid_from": change["changed_at"],
                    "valid_to": None,
                    "is_current": True,
                }
                versions.append(open_version)
    return versions, counts
