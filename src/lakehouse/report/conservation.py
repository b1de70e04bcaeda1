"""The conservation table of one run: for each dataset and layer, where the rows it read went.

Pure: ledger rows in, table rows out. Each layer's rows read must equal the parts it reports:

* bronze: rows read from the landed files = rows written to bronze (a bad file set aside is
  not read into rows; its count is shown beside);
* silver: rows read from bronze = rows written + rows quarantined;
* gold, change feed (``counts`` holds the buckets): rows read = dropped + inserted + updated +
  deleted + stale + duplicate + no-op;
* gold, ``append`` / ``overwrite_partitions``: rows read = written + dropped;
* gold, ``merge``: rows read = written + dropped + unchanged, where unchanged (a key whose
  values did not change, a MERGE no-op) is not counted by the ledger: a positive remainder is
  shown as such, unverified, a negative one is a mismatch;
* gold, ``scd2``: rows written count the versions closed as well as opened, and unchanged
  rows write nothing, so the ledger cannot balance them; shown, unverified, unless more was
  written than two per row kept (a layer that read nothing must have written nothing).

A layer that failed, is still running, was abandoned or skipped has no outcome to balance.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

OK, MISMATCH, UNVERIFIED = "ok", "mismatch", "unverified"
_BALANCED = ("succeeded", "succeeded_with_warnings")
_ORDER = {"bronze": 0, "silver": 1, "gold": 2}


def _n(value: Any) -> int:
    return int(value or 0)


def _entry(row: Mapping[str, Any], parts: dict[str, int], check: str, note: str = "") -> dict[str, Any]:
    read = _n(row.get("rows_read"))
    return {
        "dataset": row["dataset"], "layer": row["layer"], "status": row["status"], "read": read,
        "parts": parts, "accounted": sum(parts.values()), "difference": read - sum(parts.values()),
        "check": check, "note": note,
    }  # fmt: skip


def _exact(row: Mapping[str, Any], parts: dict[str, int], note: str = "") -> dict[str, Any]:
    balanced = _n(row.get("rows_read")) == sum(parts.values())
    return _entry(row, parts, OK if balanced else MISMATCH, note)


def _gold(row: Mapping[str, Any], mode: str | None) -> dict[str, Any]:
    read, written, dropped = (
        _n(row.get("rows_read")),
        _n(row.get("rows_written")),
        _n(row.get("rows_dropped")),
    )
    counts = row.get("counts") or {}
    if counts:
        return _exact(row, {"dropped": dropped, **{k: _n(v) for k, v in counts.items()}})
    if mode == "merge":
        rest = read - written - dropped
        if rest <= 0:
            return _exact(row, {"written": written, "dropped": dropped})
        note = f"{rest} row(s) left: unchanged keys (MERGE no-ops), which the ledger does not count"
        return _entry(row, {"written": written, "dropped": dropped}, UNVERIFIED, note)
    if mode == "scd2" and read:
        parts = {"written": written, "dropped": dropped}
        if written > 2 * (read - dropped):
            return _entry(row, parts, MISMATCH, "more versions written than two per row kept")
        note = "SCD2 writes changed rows only, counting closed and opened versions: no sum to check"
        return _entry(row, parts, UNVERIFIED, note)
    return _exact(row, {"written": written, "dropped": dropped})


def _layer(row: Mapping[str, Any], mode: str | None) -> dict[str, Any]:
    if row["status"] not in _BALANCED:
        return _entry(row, {}, row["status"], row.get("error") or "")
    if row["layer"] == "bronze":
        bad = _n(row.get("bad_files"))
        note = f"{bad} bad file(s) set aside, their rows not read" if bad else ""
        return _exact(row, {"written": _n(row.get("rows_written"))}, note)
    if row["layer"] == "silver":
        return _exact(
            row, {"written": _n(row.get("rows_written")), "quarantined": _n(row.get("rows_quarantined"))}
        )
    return _gold(row, mode)


def conservation(rows: Iterable[Mapping[str, Any]], gold_modes: Mapping[str, str]) -> list[dict[str, Any]]:
    """The table for one run's ledger ``rows`` (one per dataset x layer, its latest event).

    ``gold_modes``: each dataset's gold publish mode; rows of other names (derived tables,
    built by SQL over several inputs, so with no row-for-row balance) are left out.
    """
    kept = [r for r in rows if r["layer"] != "gold" or r["dataset"] in gold_modes]
    first: dict[str, int] = {}
    for r in kept:
        first.setdefault(r["dataset"], len(first))
    ordered = sorted(kept, key=lambda r: (first[r["dataset"]], _ORDER.get(r["layer"], 9)))
    return [_layer(r, gold_modes.get(r["dataset"])) for r in ordered]
