"""Write a change-feed plan: SQL ``MERGE INTO`` gold and its tombstone table.

Each function takes the rows to write as a DataFrame (a :class:`lakehouse.transforms.cdc.CdcPlan`
part) and runs one ``MERGE INTO`` through :func:`lakehouse.io.delta.merge` (a temporary view in
the DataFrame's own session; the same on a classic session and over Spark Connect). A table that
does not exist yet is created by the first write instead (one commit either way). ``txn`` =
(app id, version) makes every write idempotent: Delta skips it on a table that already has it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pyspark.sql import DataFrame, SparkSession

from lakehouse.config.names import quote
from lakehouse.constants import SCD2_COLUMNS
from lakehouse.io import delta
from lakehouse.transforms.cdc import ACTION, DELETE, DELETED_AT, KIND, RECORDED_AT, UPSERT, Roles, col

Txn = tuple[str, int] | None


def _on(columns: Sequence[str]) -> str:
    return " AND ".join(f"t.{quote(c)} <=> s.{quote(c)}" for c in columns)


def _assign(columns: Sequence[str]) -> str:
    return ", ".join(f"t.{quote(c)} = s.{quote(c)}" for c in columns)


def _insert(columns: Sequence[str]) -> str:
    names = ", ".join(quote(c) for c in columns)
    values = ", ".join(f"s.{quote(c)}" for c in columns)
    return f"INSERT ({names}) VALUES ({values})"


def merge_scd1(
    spark: SparkSession,
    rows: DataFrame,
    table: str,
    r: Roles,
    *,
    soft_delete: bool,
    partition_by: Sequence[str] = (),
    txn: Txn = None,
) -> None:
    """Apply SCD1 target rows (``_lh_action`` upsert / delete) to gold ``table``."""
    columns = [*r.columns, DELETED_AT] if soft_delete else list(r.columns)
    if not delta.table_exists(spark, table):
        first = rows.where(col(ACTION) == UPSERT).select(*[col(c) for c in columns])
        delta.create(first, table, partition_by, txn=txn)
        return
    is_delete = f"s.{ACTION} = '{DELETE}'"
    gone = f"UPDATE SET {_assign([*r.sequence, DELETED_AT])}" if soft_delete else "DELETE"
    delta.merge(
        spark,
        rows,
        table,
        f"ON {_on(r.keys)} "
        f"WHEN MATCHED AND {is_delete} THEN {gone} "
        f"WHEN MATCHED THEN UPDATE SET {_assign(columns)} "
        f"WHEN NOT MATCHED AND NOT {is_delete} THEN {_insert(columns)}",
        txn=txn,
    )


def merge_scd2(
    spark: SparkSession,
    rows: DataFrame,
    table: str,
    r: Roles,
    partition_by: Sequence[str] = (),
    *,
    txn: Txn = None,
) -> None:
    """Apply SCD2 target rows (``_lh_action`` insert / update / delete) to gold's history."""
    columns = [*r.columns, *SCD2_COLUMNS]
    if not delta.table_exists(spark, table):
        first = rows.where(col(ACTION) == "insert").select(*[col(c) for c in columns])
        delta.create(first, table, partition_by, txn=txn)
        return
    delta.merge(
        spark,
        rows,
        table,
        f"ON {_on([*r.keys, *r.sequence])} "
        f"WHEN MATCHED AND s.{ACTION} = 'delete' THEN DELETE "
        f"WHEN MATCHED AND s.{ACTION} = 'update' THEN UPDATE SET {_assign(['valid_to', 'is_current'])} "
        f"WHEN NOT MATCHED AND s.{ACTION} = 'insert' THEN {_insert(columns)}",
        txn=txn,
    )


def remember(
    spark: SparkSession, rows: DataFrame, table: str, r: Roles, cutoff: datetime, *, txn: Txn = None
) -> None:
    """Add tombstones to ``table`` and drop those recorded before ``cutoff``."""
    if not delta.table_exists(spark, table):
        delta.create(rows, table, txn=txn)
        return
    delta.merge(
        spark,
        rows,
        table,
        f"ON {_on([*r.keys, *r.sequence, KIND])} "
        f"WHEN NOT MATCHED THEN {_insert(rows.columns)} "
        f"WHEN NOT MATCHED BY SOURCE AND t.{RECORDED_AT} < {_timestamp(cutoff)} THEN DELETE",
        txn=txn,
    )


def _timestamp(value: datetime) -> str:
    """A SQL timestamp literal for an aware datetime (its UTC instant)."""
    return f"TIMESTAMP '{value.isoformat()}'"
