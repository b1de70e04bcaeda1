"""Service level objectives declared in a dataset's contract (the ``slo`` block).

```yaml
slo:
  freshness: {max_age: 26h, column: event_ts}   # column optional
  volume: {min_rows: 100, max_rows: 1000000}    # at least one bound
```

``freshness`` bounds the age of the newest value of ``column`` in the dataset's newest layer
table (gold when the dataset has gold, else silver) or, without ``column``, the age of the
dataset's last successful run. ``volume`` bounds the rows the last successful silver run
wrote. ``lakehouse check-slo`` evaluates them (:mod:`lakehouse.slo`).
"""

from __future__ import annotations

from dataclasses import dataclass

from lakehouse.config.node import Node

_SLO_KEYS = frozenset({"freshness", "volume"})
_FRESHNESS_KEYS = frozenset({"max_age", "column"})
_VOLUME_KEYS = frozenset({"min_rows", "max_rows"})
_TIME_TYPES = ("timestamp", "date")


@dataclass(frozen=True)
class FreshnessSlo:
    """The newest data (``column``) or the last successful run is at most ``max_age_s`` old."""

    max_age_s: float
    max_age: str  # as written, for messages
    column: str | None = None


@dataclass(frozen=True)
class VolumeSlo:
    """The last successful run wrote between ``min_rows`` and ``max_rows`` rows to silver."""

    min_rows: int | None = None
    max_rows: int | None = None


@dataclass(frozen=True)
class Slo:
    """A dataset's objectives (at least one of the two)."""

    freshness: FreshnessSlo | None = None
    volume: VolumeSlo | None = None


def _freshness(node: Node, columns: dict[str, str]) -> FreshnessSlo:
    node.check_keys(_FRESHNESS_KEYS)
    seconds = node.get_seconds("max_age")
    if seconds <= 0:
        raise node.child("max_age").error(
            "must be a positive duration", expected="a duration such as 90m, 26h, 2d"
        )
    column = node.get_str("column", None)
    if column is not None:
        if column not in columns:
            raise node.child("column").error(
                f"column {column!r} is not a contract column", expected="one of " + ", ".join(columns)
            )
        if columns[column] not in _TIME_TYPES:
            raise node.child("column").error(
                f"column {column!r} is of type {columns[column]}, so it has no age",
                expected="a timestamp or date column",
            )
    return FreshnessSlo(max_age_s=seconds, max_age=str(node.child("max_age").value).strip(), column=column)


def _volume(node: Node) -> VolumeSlo:
    node.check_keys(_VOLUME_KEYS)
    low = node.get_int("min_rows", None, minimum=0)
    high = node.get_int("max_rows", None, minimum=0)
    if low is None and high is None:
        raise node.error("needs min_rows, max_rows or both", expected="{min_rows: N} and/or {max_rows: M}")
    if low is not None and high is not None and low > high:
        raise node.child("min_rows").error("is greater than max_rows", expected=f"an integer <= {high}")
    return VolumeSlo(min_rows=low, max_rows=high)


def parse_slo(node: Node, columns: dict[str, str]) -> Slo | None:
    """Parse a contract's ``slo`` block (None when absent); ``columns``: contract name -> type."""
    if node.missing:
        return None
    node.check_keys(_SLO_KEYS)
    if not node.has("freshness") and not node.has("volume"):
        raise node.error("declares no objective", expected="freshness, volume or both")
    freshness = _freshness(node.child("freshness"), columns) if node.has("freshness") else None
    volume = _volume(node.child("volume")) if node.has("volume") else None
    return Slo(freshness=freshness, volume=volume)
