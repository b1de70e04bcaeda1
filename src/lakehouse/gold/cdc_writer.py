"""Write a change-feed plan: SQL ``MERGE INTO`` gold and its tombstone table.

Each function takes the rows to write as a DataFrame (a :class:`lakehouse.transforms.cdc.CdcPlan`
part), registers it as a temporary view and runs one SQL ``MERGE INTO ... USING <view>``, which
works the same on a classic session and over Spark Connect. The view and the statement use the
DataFrame's own session (inside a ``foreachBatch`` that is not the caller's session, and a view
is visible only in the session that registered it). A table that does not exist yet is
created by the first write instead (one commit either way).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

from pyspark.sql import DataFrame, SparkSession

from lakehouse.config.names import quote
from lakehouse.constants import SCD2_COLUMNS
from lakehouse.io import delta
from lakehouse.transforms.cdc import ACTION, DELETE, DELETED_AT, KIND, RECORDED_AT, UPSERT, Roles, col


def table_ref(path: str) -> str:
    """The SQL name of the Delta table at ``path``."""
    return f"delta.{quote(path)}"


@contextmanager
def temp_view(df: DataFrame) -> Iterator[str]:
    """``df`` as a uniquely named temporary view, dropped on exit."""
    name = f"_lh_cdc_{uuid.uuid4().hex}"
    df.createOrReplaceTempView(name)
    try:
        yield name
    finally:
        df.sparkSession.catalog.dropTempView(name)


def _on(columns: Sequence[str]) -> str:
    return " AND ".join(f"t.{quote(c)} <=> s.{quote(c)}" for c in columns)


def _assign(columns: Sequence[str]) -> str:
    return ", ".join(f"t.{quote(c)} = s.{quote(c)}" for c in columns)


def _insert(columns: Sequence[str]) -> str:
    names = ", ".join(quote(c) for c in columns)
    values = ", ".join(f"s.{quote(c)}" for c in columns)
    return f"INSERT ({names}) VALUES ({values})"


def _create(df: DataFrame, path: str, partition_by: Sequence[str]) -> None:
    # "error", not its alias "errorifexists": the Spark Connect client accepts only the former.
    writer = df.write.format("delta").mode("error")
    if partition_by:
        writer = writer.partitionBy(*partition_by)
    writer.save(path)


def merge_scd1(
    spark: SparkSession,
    rows: DataFrame,
    path: str,
    r: Roles,
    *,
    soft_delete: bool,
    partition_by: Sequence[str] = (),
) -> None:
    """Apply SCD1 target rows (``_lh_action`` upsert / delete) to gold at ``path``."""
    columns = [*r.columns, DELETED_AT] if soft_delete else list(r.columns)
    if not delta.table_exists(spark, path):
        first = rows.where(col(ACTION) == UPSERT).select(*[col(c) for c in columns])
        _create(first, path, partition_by)
        return
    is_delete = f"s.{ACTION} = '{DELETE}'"
    gone = f"UPDATE SET {_assign([*r.sequence, DELETED_AT])}" if soft_delete else "DELETE"
    with temp_view(rows) as view:
        rows.sparkSession.sql(
            f"MERGE INTO {table_ref(path)} AS t USING {view} AS s ON {_on(r.keys)} "
            f"WHEN MATCHED AND {is_delete} THEN {gone} "
            f"WHEN MATCHED THEN UPDATE SET {_assign(columns)} "
            f"WHEN NOT MATCHED AND NOT {is_delete} THEN {_insert(columns)}"
        )


def merge_scd2(
    spark: SparkSession, rows: DataFrame, path: str, r: Roles, partition_by: Sequence[str] = ()
) -> None:
    """Apply SCD2 target rows (``_lh_action`` insert / update / delete) to gold's history."""
    columns = [*r.columns, *SCD2_COLUMNS]
    if not delta.table_exists(spark, path):
        _create(rows.where(col(ACTION) == "insert").select(*[col(c) for c in columns]), path, partition_by)
        return
    with temp_view(rows) as view:
        rows.sparkSession.sql(
            f"MERGE INTO {table_ref(path)} AS t USING {view} AS s ON {_on([*r.keys, *r.sequence])} "
            f"WHEN MATCHED AND s.{ACTION} = 'delete' THEN DELETE "
            f"WHEN MATCHED AND s.{ACTION} = 'update' THEN UPDATE SET {_assign(['valid_to', 'is_current'])} "
            f"WHEN NOT MATCHED AND s.{ACTION} = 'insert' THEN {_insert(columns)}"
        )


def remember(spark: SparkSession, rows: DataFrame, path: str, r: Roles, cutoff: datetime) -> None:
    """Add tombstones to the table at ``path`` and drop those recorded before ``cutoff``."""
    if not delta.table_exists(spark, path):
        _create(rows, path, ())
        return
    with temp_view(rows) as view:
        rows.sparkSession.sql(
            f"MERGE INTO {table_ref(path)} AS t USING {view} AS s "
            f"ON {_on([*r.keys, *r.sequence, KIND])} "
            f"WHEN NOT MATCHED THEN {_insert(rows.columns)} "
            f"WHEN NOT MATCHED BY SOURCE AND t.{RECORDED_AT} < {_timestamp(cutoff)} THEN DELETE"
        )


def _timestamp(value: datetime) -> str:
    """A SQL timestamp literal for an aware datetime (its UTC instant)."""
    return f"TIMESTAMP '{value.isoformat()}'"
