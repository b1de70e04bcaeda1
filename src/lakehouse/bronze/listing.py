"""List a landing folder and work out which files are new, changed or already ingested."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lakehouse.io.files import FileEntry, list_files, local_path

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def list_landing(
    spark: SparkSession, root: str, pattern: str | None = None, skipped: dict[str, str] | None = None
) -> list[FileEntry]:
    """Every visible file under ``root`` (recursive), optionally filtered by a glob.

    The glob is matched against the path relative to ``root`` and against the file name,
    so ``*.csv.gz`` and ``2026-11-*/usage-*.csv.gz`` both work. Local folders and Volumes
    are scanned by Python; other URIs are listed by one Spark ``binaryFile`` query.
    """
    listed = list_files(spark, root, skipped)
    if not pattern:
        return listed
    local = local_path(root)
    base = (local if local is not None else root).rstrip("/")
    out = []
    for entry in listed:
        full = local_path(entry.path) if local is not None else entry.path
        relative = (full or entry.path)[len(base) :].lstrip("/")
        if fnmatch.fnmatch(relative, pattern) or fnmatch.fnmatch(entry.name, pattern):
            out.append(entry)
    return out


@dataclass
class Diff:
    """Listed files split against the ledger."""

    new: list[FileEntry] = field(default_factory=list)
    changed: list[FileEntry] = field(default_factory=list)
    known: int = 0


def diff_files(
    listed: list[FileEntry],
    ingested: dict[str, tuple[int, int]],
    exclude: set[str] | frozenset[str] = frozenset(),
) -> Diff:
    """Split ``listed`` into new, changed (same path, other size or mtime) and known files.

    A dict lookup per listed file: the cost grows with the listing, never with a scan of
    the history. ``exclude`` holds paths already planned in a pending batch.
    """
    diff = Diff()
    for entry in listed:
        if entry.path in exclude:
            continue
        seen = ingested.get(entry.path)
        if seen is None:
            diff.new.append(entry)
        elif seen != (entry.size, entry.mtime):
            diff.changed.append(entry)
        else:
            diff.known += 1
    order = lambda e: (e.mtime, e.path)  # noqa: E731 - oldest first, like Auto Loader
    diff.new.sort(key=order)
    diff.changed.sort(key=order)
    return diff
