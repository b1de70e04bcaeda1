"""Cleansing transforms: pure ``DataFrame -> DataFrame`` functions, chained with ``df.transform``.

None of them reads, writes, counts or caches; counting what a step removed (for example the
duplicates ``dedupe_latest`` dropped) is the caller's job, at the edge.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F  # noqa: N812
from pyspark.sql.types import StringType

CASES = ("lower", "upper", "title", "keep")


def standardized(col: Column, *, case: str = "keep", collapse_whitespace: bool = True) -> Column:
    """A string column trimmed, with inner whitespace runs collapsed and its case normalized."""
    out = F.regexp_replace(col, r"\s+", " ") if collapse_whitespace else col
    out = F.trim(out)
    if case == "lower":
        return F.lower(out)
    if case == "upper":
        return F.upper(out)
    if case == "title":
        return F.initcap(out)
    return out


def with_standardized_strings(
    df: DataFrame,
    columns: Sequence[str] | None = None,
    *,
    case: str = "keep",
    collapse_whitespace: bool = True,
    empty_as_null: bool = False,
) -> DataFrame:
    """Trim and normalize string columns (all string columns when ``columns`` is None).

    ``case`` is one of lower, upper, title, keep; ``empty_as_null`` turns strings that are
    empty after trimming into NULL.
    """
    if case not in CASES:
        raise ValueError(f"case must be one of {', '.join(CASES)}, got {case!r}")
    names = (
        list(columns)
        if columns is not None
        else [f.name for f in df.schema.fields if isinstance(f.dataType, StringType)]
    )
    out: dict[str, Column] = {}
    for name in names:
        value = standardized(F.col(name), case=case, collapse_whitespace=collapse_whitespace)
        out[name] = F.when(value == "", F.lit(None)).otherwise(value) if empty_as_null else value
    return df.withColumns(out)


def dedupe_latest(df: DataFrame, keys: Sequence[str], order_by: str | Sequence[str]) -> DataFrame:
    """Keep one row per key: the first by ``order_by`` (SQL sort expressions, e.g. ``"ts desc"``).

    Ties are broken arbitrarily but deterministically for a given input plan.
    """
    orders = [order_by] if isinstance(order_by, str) else list(order_by)
    sort_cols = [sort_column(part) for o in orders for part in _split_order(o)]
    window = Window.partitionBy(*keys).orderBy(*sort_cols)
    return (
        df.withColumn("_dedupe_rank", F.row_number().over(window))
        .where(F.col("_dedupe_rank") == 1)
        .drop("_dedupe_rank")
    )


_ORDER = re.compile(
    r"^(?P<expr>.+?)(?:\s+(?P<dir>asc|desc))?(?:\s+nulls\s+(?P<nulls>first|last))?$",
    re.IGNORECASE | re.DOTALL,
)


def sort_column(order: str) -> Column:
    """``"ts desc nulls last"`` -> the sort Column (F.expr alone would read ``desc`` as an alias)."""
    match = _ORDER.match(order.strip())
    if match is None:
        raise ValueError(f"cannot read sort expression {order!r}")
    col = F.expr(match["expr"])
    desc = (match["dir"] or "asc").lower() == "desc"
    nulls = (match["nulls"] or ("last" if desc else "first")).lower()
    if desc:
        return col.desc_nulls_first() if nulls == "first" else col.desc_nulls_last()
    return col.asc_nulls_first() if nulls == "first" else col.asc_nulls_last()


def _split_order(order: str) -> list[str]:
    # "a desc, b" -> ["a desc", "b"]; commas inside parentheses are kept.
    parts, depth, current = [], 0, ""
    for char in order:
        depth += char == "("
        depth -= char == ")"
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [p for p in (p.strip() for p in parts) if p]


def with_filled(df: DataFrame, values: Mapping[str, Any]) -> DataFrame:
    """Replace NULLs of each named column with the given literal value."""
    return df.withColumns(
        {
            name: F.coalesce(F.col(name), F.lit(value).cast(df.schema[name].dataType))
            for name, value in values.items()
        }
    )


def with_replaced(df: DataFrame, column: str, mapping: Mapping[Any, Any]) -> DataFrame:
    """Map values of ``column`` (e.g. ``{"wlan": "wifi"}``); values not in the mapping stay."""
    col = F.col(column)
    expr: Column | None = None
    for old, new in mapping.items():
        target = F.lit(new).cast(df.schema[column].dataType)
        expr = F.when(col == F.lit(old), target) if expr is None else expr.when(col == F.lit(old), target)
    return df if expr is None else df.withColumn(column, expr.otherwise(col))


def to_utc(df: DataFrame, columns: Sequence[str], from_zone: str) -> DataFrame:
    """Reinterpret wall-clock timestamps recorded in ``from_zone`` (e.g. ``Europe/Paris``) as UTC.

    Spark stores instants; a timestamp parsed from a zone-less string holds the wall-clock time
    read in the session zone. This shifts it so the stored instant is the one meant in
    ``from_zone``, independent of the session time zone.
    """
    session_tz = F.current_timezone()
    return df.withColumns(
        {
            name: F.convert_timezone(F.lit(from_zone), session_tz, F.col(name).cast("timestamp_ntz")).cast(
                "timestamp"
            )
            for name in columns
        }
    )


def with_derived(df: DataFrame, columns: Mapping[str, str]) -> DataFrame:
    """Add or replace columns from SQL expressions, e.g. ``{"usage_date": "to_date(event_ts)"}``."""
    return df.withColumns({name: F.expr(sql) for name, sql in columns.items()})


def select_columns(df: DataFrame, columns: Sequence[str]) -> DataFrame:
    """Keep exactly these columns (names or SQL expressions with ``AS``), in this order."""
    return df.selectExpr(*columns)


def rename_columns(df: DataFrame, mapping: Mapping[str, str]) -> DataFrame:
    """Rename columns ``{old: new}``; a missing old name is an error, not a silent no-op."""
    missing = [old for old in mapping if old not in df.columns]
    if missing:
        raise ValueError(f"cannot rename missing columns {missing}; columns are {df.columns}")
    return df.withColumnsRenamed(dict(mapping))


def filter_rows(df: DataFrame, condition: str) -> DataFrame:
    """Keep rows where the SQL condition is true (NULL counts as false, as in SQL WHERE)."""
    return df.where(F.expr(condition))
