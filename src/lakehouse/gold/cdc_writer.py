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
from lakehouse.io.delta import Txn
from lakehouse.transforms.cdc import ACTION, DELETE, DELETED_AT, KIND, RECORDED_AT, UPSERT, Roles, col


def _on(columns: Sequence[str]) -> str:
    return " AND ".join(f"t.{quote(c)} <=> s.{quote(c)}" for c in columns)


def _assign(columns: Sequence[str]) -> str:
    return ", ".join(f"t.{quote(c)} = s.{quote(c)}" for c in columns)


def _insert(columns: Sequence[str]) -> str:
    names = ", ".join(quote(c) for c in columns)
    values = ", ".join(f"s.{quote(c)}" for c in columns)
    return f"INSERT ({names}) VALUES ({values})"


def _created(
    spark: SparkSession,
    rows: DataFrame,
    table: str,
    action: str,
    columns: Sequence[str],
    partition_by: Sequence[str],
    txn: Txn,
) -> bool:
    """Create ``table`` from the ``action`` rows when it does not exist yet (True if it did not)."""
    if delta.table_exists(spark, table):
        return False
    first = rows.where(col(ACTION) == action).select(*[col(c) for c in columns])
    delta.create(first, table, partition_by, txn=txn)
    return True


def _scd1_clauses(r: Roles, columns: Sequence[str], soft_delete: bool) -> str:
    is_delete = f"s.{ACTION} = '{DELETE}'"
    gone = f"UPDATE SET {_assign([*r.sequence, DELETED_AT])}" if soft_delete else "DELETE"
    return (
        f"ON {_on(r.keys)} WHEN MATCHED AND {is_delete} THEN {gone} "
        f"WHEN MATCHED THEN UPDATE SET {_assign(columns)} "
        f"WHEN NOT MATCHED AND NOT {is_delete} THEN {_insert(columns)}"
    )


def _scd2_clauses(r: Roles, columns: Sequence[str]) -> str:
    return (
        f"ON {_on([*r.keys, *r.sequence])} "
        f"WHEN MATCHED AND s.{ACTION} = 'delete' THEN DELETE "
        f"WHEN MATCHED AND s.{ACTION} = 'update' THEN UPDATE SET {_assign(['valid_to', 'is_current'])} "
        f"WHEN NOT MATCHED AND s.{ACTION} = 'insert' THEN {_insert(columns)}"
    )


def merge_changes(
    spark: SparkSession,
    rows: DataFrame,
    table: str,
    r: Roles,
    *,
    scd2: bool,
    soft_delete: bool = False,
    partition_by: Sequence[str] = (),
    txn: Txn = None,
) -> None:
    """Apply a plan's target rows to gold ``table``: SCD1 rows (``_lh_action`` upsert / delete,
    a delete soft with ``soft_delete``) or, with ``scd2``, history rows (insert / update /
    delete)."""
    if scd2:
        columns = [*r.columns, *SCD2_COLUMNS]
    else:
        columns = [*r.columns, DELETED_AT] if soft_delete else list(r.columns)
    if _created(spark, rows, table, "insert" if scd2 else UPSERT, columns, partition_by, txn):
        return
    clauses = _scd2_clauses(r, columns) if scd2 else _scd1_clauses(r, columns, soft_delete)
    delta.merge(spark, rows, table, clauses, txn=txn)


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
