"""Quarantine rows: what silver and gold set aside, with the reason for each row.

A row is never dropped silently. Silver marks every failure of a row's contract as a reason
``(column, rule, value, message)`` in ``_reasons``; gold marks the ``drop`` expectations a
row fails in ``_lh_drop_rules``. Here the marked rows are split from the others and shaped
as the rows of the ``<table>_quarantine`` Delta table beside the table they were kept out of:

* silver: lineage, the row's raw bronze values as JSON (PII protected) and its reasons;
* gold: the staged row as it would have been published, the names of the rules it failed
  (``_dropped_by``) and the gold run (``_gold_run_id``).

Pure functions: they build plans; the layer runners count and write.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F  # noqa: N812

from lakehouse.constants import INGESTED_AT, RUN_ID, SOURCE_FILE
from lakehouse.transforms.conform import RAW

REASONS = "_reasons"
REASON_TYPE = "array<struct<column:string,rule:string,value:string,message:string>>"
DROP_RULES = "_lh_drop_rules"
DROPPED_BY = "_dropped_by"
GOLD_RUN_ID = "_gold_run_id"


# A silver check: the condition a row fails it on, and the reason (see :func:`reason`) it gets.
Failure = tuple[Column, Column]


def reason(column: str, rule: str, value: Column, message: str) -> Column:
    """One silver reason: the column, the rule it failed, the original value and a message."""
    return F.struct(
        F.lit(column).alias("column"),
        F.lit(rule).alias("rule"),
        value.cast("string").alias("value"),
        F.lit(message).alias("message"),
    )


def _split(df: DataFrame, marks: str) -> tuple[DataFrame, DataFrame]:
    marked = F.size(F.col(marks)) > 0
    return df.filter(~marked), df.filter(marked)


def split_silver(checked: DataFrame) -> tuple[DataFrame, DataFrame]:
    """``(valid, rejected)``: rows without reasons and rows with at least one; every row once."""
    return _split(checked, REASONS)


def silver_rows(rejected: DataFrame, run_id: str) -> DataFrame:
    """Silver quarantine rows: lineage, the raw bronze values as JSON (PII protected), reasons."""
    return rejected.select(
        F.col(SOURCE_FILE),
        F.col(INGESTED_AT),
        F.lit(run_id).alias(RUN_ID),
        F.current_timestamp().alias("_quarantined_at"),
        F.to_json(F.col(RAW)).alias("_raw"),
        F.col(REASONS),
    )


def split_gold(staged: DataFrame) -> tuple[DataFrame, DataFrame]:
    """``(kept, dropped)``: staged rows failing no ``drop`` rule (marks removed), and the others."""
    kept, dropped = _split(staged, DROP_RULES)
    return kept.drop(DROP_RULES), dropped


def gold_rows(dropped: DataFrame, run_id: str) -> DataFrame:
    """Gold quarantine rows: the staged row, the drop rules it failed and the gold run id."""
    return dropped.withColumnRenamed(DROP_RULES, DROPPED_BY).withColumn(GOLD_RUN_ID, F.lit(run_id))
