"""Schema drift of a silver increment: what the contract says to do with new and missing columns.

Bronze records, in each batch's commit, the files that brought a column the contract does not
know and the files that lack a contract column (:func:`lakehouse.transforms.conform.file_drift`).
Silver merges the commits of the range it reads (:func:`merge`) and applies the contract's
``on_new_columns`` (``warn | quarantine | fail | evolve``) and ``on_missing_columns``
(``warn | quarantine | fail``): reasons for the rows of the files concerned, an error before
anything is written, or (``evolve``) the new columns carried into silver as nullable strings.
Pure: columns and messages only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pyspark.sql import functions as F  # noqa: N812

from lakehouse.constants import SOURCE_FILE
from lakehouse.transforms.quarantine import Failure, reason

if TYPE_CHECKING:
    from lakehouse.config.contract import Contract

Drift = dict[str, dict[str, list[str]]]
KINDS = ("unknown_columns", "missing_columns")


def merge(found: Sequence[dict[str, Any] | None]) -> Drift:
    """The drift of several bronze commits: per kind, column -> files (in commit order)."""
    out: Drift = {k: {} for k in KINDS}
    for entry in found:
        for kind in KINDS:
            for column, files in ((entry or {}).get(kind) or {}).items():
                known = out[kind].setdefault(str(column), [])
                known.extend(str(f) for f in files if f not in known)
    return out


def names(drift: Drift) -> dict[str, list[str]]:
    """Per kind, the column names (for the summary and the ledger)."""
    return {kind: sorted(drift.get(kind, {})) for kind in KINDS}


def _by_file(columns: dict[str, list[str]]) -> dict[str, list[str]]:
    files: dict[str, list[str]] = {}
    for column, paths in columns.items():
        for path in paths:
            files.setdefault(path, []).append(column)
    return files


_MESSAGES = {
    "unknown_columns": ("new_columns", "the row's file has columns the contract does not know: {}"),
    "missing_columns": ("missing_columns", "the row's file lacks contract columns: {}"),
}


def failures(drift: Drift, contract: Contract) -> list[Failure]:
    """Reasons for the rows of files with drift the contract quarantines."""
    out = []
    for kind, policy in (
        ("unknown_columns", contract.on_new_columns),
        ("missing_columns", contract.on_missing_columns),
    ):
        if policy != "quarantine":
            continue
        rule, message = _MESSAGES[kind]
        for path, columns in _by_file(drift.get(kind, {})).items():
            listed = ", ".join(sorted(columns))
            why = reason(listed, rule, F.col(SOURCE_FILE), message.format(listed))
            out.append((F.col(SOURCE_FILE) == F.lit(path), why))
    return out


def error(drift: Drift, contract: Contract, dataset: str) -> str | None:
    """The message when the contract fails on drift found in the range, else None."""
    for kind, policy, key in (
        ("unknown_columns", contract.on_new_columns, "on_new_columns"),
        ("missing_columns", contract.on_missing_columns, "on_missing_columns"),
    ):
        columns = drift.get(kind, {})
        if policy == "fail" and columns:
            column, files = sorted(columns.items())[0]
            what = "new columns" if kind == "unknown_columns" else "missing columns"
            return (
                f"dataset {dataset!r}: {what} {', '.join(sorted(columns))} (e.g. {column!r} in {files[0]}) "
                f"and the contract's {key} is fail; update the contract or the policy, the range is "
                "read again on the next run"
            )
    return None


def evolved(drift: Drift, contract: Contract) -> list[str]:
    """New columns silver carries as nullable strings (``on_new_columns: evolve``)."""
    if contract.on_new_columns != "evolve":
        return []
    return sorted(drift.get("unknown_columns", {}))
