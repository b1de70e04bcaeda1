"""Apply the ``transforms:`` steps of a gold section: each step name -> a cleansing function."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from pyspark.sql import DataFrame

from lakehouse.config.gold import TransformStep
from lakehouse.transforms import cleanse as c

STEPS: dict[str, Callable[[DataFrame, dict[str, Any]], DataFrame]] = {
    "standardize": lambda df, p: c.with_standardized_strings(
        df,
        p.get("columns"),
        case=p.get("case", "keep"),
        collapse_whitespace=p.get("collapse_whitespace", True),
        empty_as_null=p.get("empty_as_null", False),
    ),
    "dedupe": lambda df, p: c.dedupe_latest(df, _list(p["keys"]), p["order_by"]),
    "fill": lambda df, p: c.with_filled(df, p["values"]),
    "replace": lambda df, p: c.with_replaced(df, p["column"], p["values"]),
    "to_utc": lambda df, p: c.to_utc(df, _list(p["columns"]), p["from_zone"]),
    "derive": lambda df, p: c.with_derived(df, p),
    "select": lambda df, p: c.select_columns(df, _list(p["value"])),
    "rename": lambda df, p: c.rename_columns(df, p),
    "filter": lambda df, p: c.filter_rows(df, p["value"]),
}


_PLAIN = re.compile(r"\*|`[^`]+`|[A-Za-z_][A-Za-z0-9_]*")  # a select item that is a bare column


def _list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else [str(v) for v in value]


def _changed_columns(kind: str, params: dict[str, Any]) -> set[str] | None:
    """The (lower-cased) columns whose values a step may change; None for any column."""
    if kind in ("dedupe", "filter"):  # these only remove rows
        return set()
    if kind == "select":  # plain names only drop columns; an expression (`lower(k) AS k`) sets one
        return set() if all(_PLAIN.fullmatch(c.strip()) for c in _list(params["value"])) else None
    if kind == "standardize" and params.get("columns") is not None:
        return {c.lower() for c in _list(params["columns"])}
    if kind == "to_utc":
        return {c.lower() for c in _list(params["columns"])}
    if kind == "replace":
        return {str(params["column"]).lower()}
    if kind == "fill":
        return {str(c).lower() for c in params["values"]}
    if kind == "derive":  # the columns it sets
        return {str(c).lower() for c in params}
    if kind == "rename":  # the old names and the new ones
        return {str(c).lower() for pair in params.items() for c in pair}
    return None  # standardize of every string column, or a step this function does not know


def unique_on(steps: Sequence[TransformStep], keys: Sequence[str]) -> bool:
    """Whether the steps' output has at most one row per ``keys`` whatever the input: a
    ``dedupe`` on some of these keys, and no later step that may change a key column (a
    ``standardize`` of every string column may). When in doubt, False. A merge uses it to
    skip its duplicate-key query, which would find nothing."""
    wanted = {k.lower() for k in keys}
    unique = False
    for step in steps:
        if step.kind == "dedupe":
            unique = unique or {k.lower() for k in _list(step.params["keys"])} <= wanted
            continue
        changed = _changed_columns(step.kind, step.params)
        if changed is None or changed & wanted:
            unique = False
    return unique


def apply_steps(df: DataFrame, steps: Sequence[TransformStep]) -> DataFrame:
    """Chain the configured cleansing steps in order (pure: builds a plan, runs nothing)."""
    for step in steps:
        df = STEPS[step.kind](df, step.params)
    return df
