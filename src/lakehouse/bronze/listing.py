"""List a landing folder and work out which files are new, changed or already ingested."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field

from lakehouse.bronze.hadoop import FileEntry, HadoopFs


def _hidden(name: str) -> bool:
    # Same rule as Spark's file index: _SUCCESS, _delta_log, .crc, editor temp files...
    return name.startswith((".", "_"))


def list_landing(fs: HadoopFs, root: str, pattern: str | None = None) -> list[FileEntry]:
    """Every visible file under ``root`` (recursive), optionally filtered by a glob.

    The glob is matched against the path relative to ``root`` and against the file name,
    so ``*.csv.gz`` and ``2026-11-*/usage-*.csv.gz`` both work. One JVM call per directory.
    """
    base = fs.qualify(root).rstrip("/")
    out: list[FileEntry] = []
    folders = [base]
    while folders:
        folder = folders.pop()
        for entry in fs.list_dir(folder):
            if _hidden(entry.name):
                continue
            if entry.is_dir:
                folders.append(entry.path)
                continue
            relative = entry.path[len(base) :].lstrip("/")
            if pattern and not (fnmatch.fnmatch(relative, pattern) or fnmatch.fnmatch(entry.name, pattern)):
                continue
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
