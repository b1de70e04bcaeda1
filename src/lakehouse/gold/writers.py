"""Publish a staged DataFrame to a gold Delta table: merge (SCD1), SCD2, append, overwrite_partitions.

Every writer returns True when it committed a new table version.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F  # noqa: N812

from lakehouse.config.names import quote
from lakehouse.errors import PublishError
from lakehouse.io import delta
from lakehouse.io.delta import Txn
from lakehouse.quality.rules import row_key
from lakehouse.transforms.scd2 import scd2_changes, tracked_columns

DUPLICATE_SAMPLES = 10
_ACTION, _CLOSE_AT = "_lh_action", "_lh_close_at"


def check_unique_keys(df: DataFrame, keys: Sequence[str], *, target: str) -> None:
    """Raise :class:`PublishError` listing the first duplicated keys and their counts.

    Run before a merge, where Delta would only say "multiple source rows matched".
    """
    dups = (
        df.groupBy(*keys)
        .count()
        .where(F.col("count") > 1)
        .select(row_key(keys).alias("key"), "count")
        .orderBy(F.desc("count"), "key")
        .limit(DUPLICATE_SAMPLES)
        .collect()
    )
    if dups:
        listed = ", ".join(f"{r['key']} (x{r['count']})" for r in dups)
        raise PublishError(
            f"{target}: the merge source has duplicate keys ({', '.join(keys)}): {listed}"
            " - add a dedupe transform or fix the keys"
        )


def create_table(df: DataFrame, table: str, partition_by: Sequence[str] = (), txn: Txn = None) -> None:
    """Create the gold table from its first batch (``txn`` recorded as by the other writers)."""
    delta.create(df, table, partition_by, txn=txn)


def _columns(names: Sequence[str], prefix: str) -> str:
    return ", ".join(f"{prefix}{quote(c)}" for c in names)


def merge_scd1(
    spark: SparkSession,
    df: DataFrame,
    table: str,
    keys: Sequence[str],
    partition_by: Sequence[str] = (),
    txn: Txn = None,
) -> bool:
    """Upsert by key: update rows whose values changed, insert new keys (idempotent).

    Rows equal (null-safe) to the target row are not rewritten. One SQL ``MERGE INTO``.
    ``txn`` = (app id, version): Delta skips the write when the table already has it (a range
    replayed after a run died between this write and its state commit), so the range's one
    commit is the one its counts come from. A session that refuses the settings gets the
    MERGE without them (a warning says so): the data stays right, a replay counts twice.
    """
    if not delta.table_exists(spark, table):
        create_table(df, table, partition_by, txn)
        return True
    on = " AND ".join(f"t.{quote(k)} <=> s.{quote(k)}" for k in keys)
    values = [c for c in df.columns if c not in keys]
    changed = " OR ".join(f"NOT (t.{quote(c)} <=> s.{quote(c)})" for c in values) or "false"
    assignments = ", ".join(f"t.{quote(c)} = s.{quote(c)}" for c in df.columns)
    delta.merge(
        spark,
        df,
        table,
        f"ON {on} WHEN MATCHED AND ({changed}) THEN UPDATE SET {assignments} "
        f"WHEN NOT MATCHED THEN INSERT ({_columns(df.columns, '')}) VALUES ({_columns(df.columns, 's.')})",
        txn=txn,
        txn_required=False,
    )
    return True


def merge_scd2(
    spark: SparkSession,
    df: DataFrame,
    table: str,
    keys: Sequence[str],
    effective_from: str,
    track: Sequence[str] | None,
    partition_by: Sequence[str] = (),
    txn: Txn = None,
) -> bool:
    """Publish ``df`` as SCD2 history; returns False when nothing changed.

    One MERGE closes the current row of each changed key (``valid_to`` = the first new
    version's start, ``is_current`` = false) and inserts the new versions
    (:func:`lakehouse.transforms.scd2.scd2_changes`).
    """
    cols = tracked_columns(df.columns, keys, effective_from, track)
    exists = delta.table_exists(spark, table)
    current = delta.read_table(spark, table).where("is_current") if exists else None
    changes = scd2_changes(df, current, keys, effective_from, cols)
    if changes.isEmpty():  # an unchanged batch makes no commit
        return False
    if not exists:
        create_table(changes, table, partition_by, txn)
        return True
    closes = (
        changes.groupBy(*keys).agg(F.min("valid_from").alias(_CLOSE_AT)).withColumn(_ACTION, F.lit("close"))
    )
    source = changes.withColumn(_ACTION, F.lit("insert")).unionByName(closes, allowMissingColumns=True)
    on = " AND ".join(
        [f"s.{_ACTION} = 'close'", "t.is_current", *[f"t.{quote(k)} <=> s.{quote(k)}" for k in keys]]
    )
    delta.merge(
        spark,
        source,
        table,
        f"ON {on} WHEN MATCHED THEN UPDATE SET t.valid_to = s.{_CLOSE_AT}, t.is_current = false "
        f"WHEN NOT MATCHED AND s.{_ACTION} = 'insert' THEN INSERT ({_columns(changes.columns, '')}) "
        f"VALUES ({_columns(changes.columns, 's.')})",
        txn=txn,
        txn_required=False,
    )
    return True


def append(
    spark: SparkSession,
    df: DataFrame,
    path: str,
    partition_by: Sequence[str] = (),
    txn: Txn = None,
) -> bool:
    """Append rows. ``txn`` = (app id, batch id) makes a retried micro-batch a no-op in Delta."""
    delta.append(spark, df, path, txn=txn, partition_by=partition_by)
    return True


def overwrite_partitions(
    spark: SparkSession,
    df: DataFrame,
    table: str,
    partition_by: Sequence[str],
    where: str | None = None,
    txn: Txn = None,
) -> bool:
    """Replace exactly the partitions present in ``df`` (dynamic partition overwrite); with
    ``where`` (a predicate on the partition columns), the partitions it selects, emptied ones
    included. ``txn`` as in :func:`merge_scd1`."""
    if not delta.table_exists(spark, table):
        create_table(df, table, partition_by, txn)
        return True
    if where is not None:
        delta.replace_where(df, table, where, txn=txn)
    else:
        delta.overwrite_partitions(df, table, txn=txn)
    return True
