"""Read Delta commit metrics straight from ``_delta_log`` (local paths, no Spark).

The benchmarks count rows from what Delta committed, the same way for the library and the
hand-written baselines: the ``operationMetrics`` of every commit a job made.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any


def version(table: Path) -> int | None:
    """The latest committed version of a Delta table, or None when there is no table."""
    log = table / "_delta_log"
    if not log.is_dir():
        return None
    versions = [int(p.name[:20]) for p in log.glob("*.json") if p.name[:20].isdigit()]
    return max(versions) if versions else None


def versions(tables: Iterable[Path]) -> dict[str, int | None]:
    return {str(t): version(t) for t in tables}


def commits(table: Path, after: int | None) -> list[dict[str, Any]]:
    """``commitInfo`` of each commit after version ``after`` (all commits when None)."""
    latest = version(table)
    if latest is None:
        return []
    first = 0 if after is None else after + 1
    found = []
    for v in range(first, latest + 1):
        with (table / "_delta_log" / f"{v:020d}.json").open() as handle:
            for line in handle:
                action = json.loads(line)
                if "commitInfo" in action:
                    found.append({"version": v, **action["commitInfo"]})
                    break
    return found


def metric(commit: dict[str, Any], name: str) -> int:
    return int((commit.get("operationMetrics") or {}).get(name, 0) or 0)


def rows_written(table: Path, after: int | None) -> int:
    """Rows a job appended or inserted into ``table`` (appends, streaming writes, merges)."""
    total = 0
    for commit in commits(table, after):
        merged = "numTargetRowsInserted" in (commit.get("operationMetrics") or {})
        total += metric(commit, "numTargetRowsInserted" if merged else "numOutputRows")
    return total


def live_files(table: Path) -> int:
    """Number of data files in the table's current version (replays the log, no checkpoint use)."""
    files: set[str] = set()
    latest = version(table)
    for v in range(0 if latest is None else latest + 1):
        path = table / "_delta_log" / f"{v:020d}.json"
        if not path.is_file():  # cleaned-up log: counting would be wrong
            raise FileNotFoundError(f"{path} is gone; cannot replay the log")
        with path.open() as handle:
            for line in handle:
                action = json.loads(line)
                if "add" in action:
                    files.add(action["add"]["path"])
                elif "remove" in action:
                    files.discard(action["remove"]["path"])
    return len(files)
