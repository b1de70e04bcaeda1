"""Column helpers for expectations: per-row rule flags and the row key used in samples.

Pure functions returning ``Column``s; evaluation (the actions) lives in ``evaluate.py``.
Policy: a row rule whose SQL result is NULL counts as **failed** (``coalesce(rule, false)``),
so ``mem_mb > 0`` fails a row whose ``mem_mb`` is NULL. Write ``mem_mb is null or mem_mb > 0``
to accept NULLs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import timedelta

from pyspark.sql import Column
from pyspark.sql import functions as F  # noqa: N812

from lakehouse.gold.spec import Expectation

DROP_RULES_COL = "_lh_drop_rules"
_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def rule_ok(rule: str) -> Column:
    """True where the row passes ``rule``; NULL results count as failures."""
    return F.coalesce(F.expr(rule).cast("boolean"), F.lit(False))


def row_key(keys: Sequence[str]) -> Column:
    """A printable key for sample lists: key values joined by ``|`` (whole row as JSON if no keys)."""
    if not keys:
        return F.substring(F.to_json(F.struct("*")), 1, 200)
    return F.concat_ws("|", *[F.coalesce(F.col(k).cast("string"), F.lit("NULL")) for k in keys])


def drop_rules(expectations: Sequence[Expectation]) -> Column:
    """Array of the names of the ``drop`` row rules a row fails (empty when it passes them all)."""
    names = [
        F.when(~rule_ok(e.rule or "true"), F.lit(e.name))
        for e in expectations
        if e.kind == "row" and e.action == "drop"
    ]
    if not names:
        return F.array().cast("array<string>")
    return F.filter(F.array(*names), lambda x: x.isNotNull())


def parse_age(text: str) -> timedelta:
    """``"2h"`` -> 2 hours; units s, m, h, d."""
    match = _AGE.match(str(text))
    if not match:
        raise ValueError(f"max_age must look like 30m, 2h or 1d, got {text!r}")
    return timedelta(**{_UNITS[match.group(2)]: float(match.group(1))})
