"""Column helpers for expectations: per-row rule flags and the row key used in samples.

Pure functions returning ``Column``s; evaluation (the actions) lives in ``evaluate.py``.
Policy: a row rule whose SQL result is NULL counts as **failed** (``coalesce(rule, false)``),
so ``mem_mb > 0`` fails a row whose ``mem_mb`` is NULL. Write ``mem_mb is null or mem_mb > 0``
to accept NULLs.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import Column
from pyspark.sql import functions as F  # noqa: N812

from lakehouse.config.expectations import Expectation


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
