"""Contract checks: every rule of every column evaluated in one pass, rows split in two.

:func:`with_reasons` adds ``_reasons``: an array of failure structs
``(column, rule, value, message)`` built by a single ``select``. NULL policy: value rules
(allowed, min, max, pattern, max_length) pass a NULL value, only ``not_null`` (and a
primary key column) rejects it; a rule whose result is NULL for a non-NULL value counts as
failed. Every rule result is therefore a definite boolean and each row lands exactly once,
in ``valid`` (no reasons) or ``rejected`` (one row, all of its reasons).

Duplicate primary keys within a batch: among the rows that pass every other rule, the one
with the latest ``_ingested_at`` (then ``_source_file``, then raw values, descending) is kept
and the others are rejected with rule ``duplicate_key``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F  # noqa: N812

from lakehouse.transforms.conform import RAW, cast_failed, quote

if TYPE_CHECKING:
    from lakehouse.contracts import ColumnSpec, Contract

REASONS = "_reasons"
REASON_TYPE = "array<struct<column:string,rule:string,value:string,message:string>>"
_NUMERIC = ("tinyint", "smallint", "int", "bigint", "double", "float")


def _reason(column: str, rule: str, value: Column, message: str) -> Column:
    return F.struct(
        F.lit(column).alias("column"),
        F.lit(rule).alias("rule"),
        value.cast("string").alias("value"),
        F.lit(message).alias("message"),
    )


def _fails(value: Column, ok: Column) -> Column:
    """NULL value passes; otherwise a rule that is not definitely true fails."""
    return F.when(value.isNull(), F.lit(False)).otherwise(F.coalesce(~ok, F.lit(True)))


def _value_rules(spec: ColumnSpec) -> list[tuple[str, Column, str]]:
    value = F.col(quote(spec.name))
    text = value.cast("string")
    rules: list[tuple[str, Column, str]] = []
    if spec.allowed is not None:
        rules.append(
            (
                "allowed",
                _fails(value, text.isin(*spec.allowed)),
                "not one of the allowed values " + ", ".join(spec.allowed),
            )
        )
    numeric = spec.type in _NUMERIC or spec.type.startswith("decimal")
    if spec.min is not None and numeric:
        rules.append(("min", _fails(value, value >= F.lit(spec.min)), f"below the minimum {spec.min:g}"))
    if spec.max is not None and numeric:
        rules.append(("max", _fails(value, value <= F.lit(spec.max)), f"above the maximum {spec.max:g}"))
    if spec.pattern is not None:
        rules.append(
            ("pattern", _fails(value, text.rlike(spec.pattern)), f"does not match the pattern {spec.pattern}")
        )
    if spec.max_length is not None:
        rules.append(
            (
                "max_length",
                _fails(value, F.length(text) <= spec.max_length),
                f"longer than {spec.max_length} characters",
            )
        )
    return rules


def column_failures(spec: ColumnSpec, contract: Contract) -> list[Column]:
    """One ``when(failed, reason)`` per rule of a column (NULL when the rule passes)."""
    raw = F.col(RAW).getItem(spec.source_name)
    required = not spec.nullable or spec.name in contract.primary_key
    failures = []
    if required:
        what = "primary key column" if spec.name in contract.primary_key else "column"
        failures.append(
            F.when(
                F.col(f"_clean.{quote(spec.name)}").isNull(),
                _reason(spec.name, "not_null", raw, f"{what} is null or a null token"),
            )
        )
    kind = spec.type + (f" in format {spec.format}" if spec.format else "")
    failures.append(F.when(cast_failed(spec), _reason(spec.name, "cast", raw, f"not a valid {kind}")))
    for rule, failed, message in _value_rules(spec):
        failures.append(F.when(failed, _reason(spec.name, rule, raw, message)))
    return failures


def with_reasons(df: DataFrame, contract: Contract, *, rescued_policy: str | None = None) -> DataFrame:
    """Add ``_reasons`` (one select for all rules); ``rescued_policy='quarantine'`` adds one."""
    failures = [f for spec in contract.columns for f in column_failures(spec, contract)]
    if (rescued_policy or contract.rescued_data) == "quarantine":
        rescued = F.col("_rescued_data")
        failures.append(
            F.when(
                rescued.isNotNull(),
                _reason(
                    "_rescued_data", "rescued_data", rescued, "row has values that did not fit the schema"
                ),
            )
        )
    found = F.filter(F.array(*failures), lambda r: r.isNotNull())
    return df.select("*", found.cast(REASON_TYPE).alias(REASONS))


def with_duplicate_keys(df: DataFrame, contract: Contract) -> DataFrame:
    """Flag all but the latest row of each primary key among rows with no other reason."""
    if not contract.primary_key:
        return df
    clean = F.size(REASONS) == 0
    order = [
        F.col("_ingested_at").desc_nulls_last(),
        F.col("_source_file").desc_nulls_last(),
        F.to_json(F.col(RAW)).desc_nulls_last(),
    ]
    window = Window.partitionBy(clean, *[F.col(quote(k)) for k in contract.primary_key]).orderBy(*order)
    key_text = F.to_json(
        F.struct(
            *[F.col(f"{RAW}.{quote(contract.column(k).source_name)}").alias(k) for k in contract.primary_key]
        )
    )
    duplicate = clean & (F.row_number().over(window) > 1)
    reason = _reason(
        ",".join(contract.primary_key),
        "duplicate_key",
        key_text,
        "duplicate primary key in this batch; the latest ingested row was kept",
    )
    return df.withColumn(REASONS, F.when(duplicate, F.array(reason)).otherwise(F.col(REASONS)))


def split_valid(df: DataFrame, contract: Contract) -> tuple[DataFrame, DataFrame]:
    """Run all checks and return ``(valid, rejected)``; together they hold every input row once."""
    checked = df.transform(with_reasons, contract).transform(with_duplicate_keys, contract)
    return checked.filter(F.size(REASONS) == 0), checked.filter(F.size(REASONS) > 0)
