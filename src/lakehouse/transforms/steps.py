"""Apply the ``transforms:`` steps of a gold section: each step name -> a cleansing function."""

from __future__ import annotations

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


def _list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else [str(v) for v in value]


def apply_steps(df: DataFrame, steps: Sequence[TransformStep]) -> DataFrame:
    """Chain the configured cleansing steps in order (pure: builds a plan, runs nothing)."""
    for step in steps:
        df = STEPS[step.kind](df, step.params)
    return df
