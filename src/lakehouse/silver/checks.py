"""Contract checks: every rule of every column evaluated in one pass, rows split in two.

:func:`with_reasons` adds ``_reasons``: an array of failure structs
``(column, rule, value, message)`` built by a single ``select``: ``not_null``, ``cast`` and
every column rule of :data:`lakehouse.config.column_rules.COLUMN_RULES` a column sets. NULL
policy: column rules pass a NULL value, only ``not_null`` (and a primary key column) rejects
it; a rule whose result is NULL for a non-NULL value counts as failed. Every rule result is
therefore a definite boolean and each row lands exactly once, in silver (no reasons) or in
the quarantine (one row, all of its reasons; see :mod:`lakehouse.transforms.quarantine`).

Duplicate primary keys within a batch: among the rows that pass every other rule, the one
with the latest ``_ingested_at`` (then ``_source_file``, then the raw values in column order,
descending) is kept and the others are rejected with rule ``duplicate_key``.
"""

from __future__ import annotations

import functools
import operator
from typing import TYPE_CHECKING

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F  # noqa: N812

from lakehouse.config.column_rules import COLUMN_RULES
from lakehouse.config.names import quote
from lakehouse.constants import EXTRA_FIELDS, INGESTED_AT, RESCUED_DATA, SOURCE_FILE
from lakehouse.transforms.conform import RAW, cast_failed
from lakehouse.transforms.quarantine import REASON_TYPE, REASONS, Failure, reason

if TYPE_CHECKING:
    from lakehouse.config.contract import ColumnSpec, Contract


def _fails(value: Column, ok: Column) -> Column:
    """NULL value passes; otherwise a rule that is not definitely true fails."""
    return F.when(value.isNull(), F.lit(False)).otherwise(F.coalesce(~ok, F.lit(True)))


def _rule_failures(spec: ColumnSpec, raw: Column) -> list[Failure]:
    """``(failed, reason)`` for each column rule ``spec`` sets, in registry order."""
    value = F.col(quote(spec.name))
    failures = []
    for name, rule in COLUMN_RULES.items():
        if name in spec.rules:
            param = spec.rules[name]
            failed = _fails(value, rule.check(value, param))
            failures.append((failed, reason(spec.name, name, raw, rule.failure_message(param))))
    return failures


def column_failures(spec: ColumnSpec, contract: Contract) -> list[Failure]:
    """One ``(failed, reason)`` per rule of a column."""
    raw = F.col(RAW).getItem(spec.source_name)
    required = not spec.nullable or spec.name in contract.primary_key
    failures = []
    if required:
        what = "primary key column" if spec.name in contract.primary_key else "column"
        failures.append(
            (
                F.col(f"_clean.{quote(spec.name)}").isNull(),
                reason(spec.name, "not_null", raw, f"{what} is null or a null token"),
            )
        )
    kind = spec.type + (f" in format {spec.format}" if spec.format else "")
    failures.append((cast_failed(spec), reason(spec.name, "cast", raw, f"not a valid {kind}")))
    return failures + _rule_failures(spec, raw)


EXTRA_FIELDS_MESSAGE = (
    "row has more fields than its header (or the contract); the record's text is in the value"
)


def extra_fields(rescued: Column) -> Column:
    """Whether bronze rescued the row for having more csv fields than its header."""
    return F.get_json_object(rescued, f"$.{EXTRA_FIELDS}").isNotNull()


def _only_extra_fields(rescued: Column) -> Column:
    # Nothing else rescued: one error (no "; " join) and only _file, _error, _raw, _extra_fields.
    error = F.coalesce(F.get_json_object(rescued, "$._error"), F.lit(""))
    return extra_fields(rescued) & ~error.contains("; ") & (F.size(F.json_object_keys(rescued)) <= 4)


def rescued_failures(contract: Contract, rescued_policy: str | None = None) -> list[Failure]:
    """Reasons from ``_rescued_data``: ``extra_fields`` (``on_extra_fields: quarantine``) and
    ``rescued_data`` for anything else bronze rescued (``rescued_data: quarantine``)."""
    rescued = F.col(RESCUED_DATA)
    failures = []
    if contract.on_extra_fields == "quarantine":
        failures.append(
            (extra_fields(rescued), reason(RESCUED_DATA, "extra_fields", rescued, EXTRA_FIELDS_MESSAGE))
        )
    if (rescued_policy or contract.rescued_data) == "quarantine":
        failures.append(
            (
                rescued.isNotNull() & ~F.coalesce(_only_extra_fields(rescued), F.lit(False)),
                reason(RESCUED_DATA, "rescued_data", rescued, "row has values that did not fit the schema"),
            )
        )
    return failures


def with_reasons(
    df: DataFrame,
    contract: Contract,
    *,
    rescued_policy: str | None = None,
    extra: list[Failure] | None = None,
) -> DataFrame:
    """Add ``_reasons`` (one select for all rules), rescued data and ``extra`` reasons included.

    The reasons array is built only for a row that fails a rule: most rows pass, and for them
    the conditions alone are evaluated (no struct per rule, no filter over them).
    """
    failures = [f for spec in contract.columns for f in column_failures(spec, contract)]
    failures += rescued_failures(contract, rescued_policy) + (extra or [])
    if not failures:
        return df.select("*", F.array().cast(REASON_TYPE).alias(REASONS))
    any_failed = F.coalesce(functools.reduce(operator.or_, [failed for failed, _ in failures]), F.lit(False))
    found = F.filter(F.array(*[F.when(failed, why) for failed, why in failures]), lambda r: r.isNotNull())
    reasons = F.when(any_failed, found.cast(REASON_TYPE)).otherwise(F.array().cast(REASON_TYPE))
    return df.select("*", reasons.alias(REASONS))


def with_duplicate_keys(df: DataFrame, contract: Contract) -> DataFrame:
    """Flag all but the latest row of each primary key among rows with no other reason."""
    if not contract.primary_key:
        return df
    clean = F.size(REASONS) == 0
    order = [
        F.col(INGESTED_AT).desc_nulls_last(),
        F.col(SOURCE_FILE).desc_nulls_last(),
        # The values as an array (same order in every row of a batch): cheaper to sort than JSON.
        F.map_values(F.col(RAW)).desc_nulls_last(),
    ]
    window = Window.partitionBy(clean, *[F.col(quote(k)) for k in contract.primary_key]).orderBy(*order)
    key_text = F.to_json(
        F.struct(
            *[F.col(f"{RAW}.{quote(contract.column(k).source_name)}").alias(k) for k in contract.primary_key]
        )
    )
    duplicate = clean & (F.row_number().over(window) > 1)
    why = reason(
        ",".join(contract.primary_key),
        "duplicate_key",
        key_text,
        "duplicate primary key in this batch; the latest ingested row was kept",
    )
    return df.withColumn(REASONS, F.when(duplicate, F.array(why)).otherwise(F.col(REASONS)))
