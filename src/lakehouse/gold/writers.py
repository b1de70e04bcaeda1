"""Publish a staged DataFrame to a gold Delta table: merge (SCD1), SCD2, append, overwrite_partitions.

Every writer returns True when it committed a new table version.
"""

from __future__ import annotations

from collections.abc import Sequence

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F  # noqa: N812

from lakehouse.config.names import quote
from lakehouse.errors import PublishError
from lakehouse.io import delta
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


def create_table(df: DataFrame, path: str, partition_by: Sequence[str] = ()) -> None:
    """Create the gold table from its first batch."""
    writer = df.write.format("delta").mode("errorifexists")
    if partition_by:
        writer = writer.partitionBy(*partition_by)
    writer.save(path)


def merge_scd1(
    spark: SparkSession, df: DataFrame, path: str, keys: Sequence[str], partition_by: Sequence[str] = ()
) -> bool:
    """Upsert by key: update rows whose values changed, insert new keys (idempotent).

    Rows equal (null-safe) to the target row are not rewritten.
    """
    if not delta.table_exists(spark, path):
        create_table(df, path, partition_by)
        return True
    on = " AND ".join(f"t.{quote(k)} <=> s.{quote(k)}" for k in keys)
    values = [c for c in df.columns if c not in keys]
    changed = " OR ".join(f"NOT (t.{quote(c)} <=> s.{quote(c)})" for c in values) or "false"
    (
        DeltaTable.forPath(spark, path)
        .alias("t")
        .merge(df.alias("s"), on)
        .whenMatchedUpdateAll(condition=changed)
        .whenNotMatchedInsertAll()
        .execute()
    )
    return True


def merge_scd2(
    spark: SparkSession,
    df: DataFrame,
    path: str,
    keys: Sequence[str],
    effective_from: str,
    track: Sequence[str] | None,
    partition_by: Sequence[str] = (),
) -> bool:
    """Publish ``df`` as SCD2 history at ``path``; returns False when nothing changed.

    One MERGE closes the current row of each changed key (``valid_to`` = the first new
    version's start, ``is_current`` = false) and inserts the new versions
    (:func:`lakehouse.transforms.scd2.scd2_changes`).
    """
    cols = tracked_columns(df.columns, keys, effective_from, track)
    target = DeltaTable.forPath(spark, path) if delta.table_exists(spark, path) else None
    current = target.toDF().where("is_current") if target is not None else None
    changes = scd2_changes(df, current, keys, effective_from, cols).persist()
    try:
        if changes.isEmpty():
            return False
        if target is None:
            create_table(changes, path, partition_by)
            return True
        closes = (
            changes.groupBy(*keys)
            .agg(F.min("valid_from").alias(_CLOSE_AT))
            .withColumn(_ACTION, F.lit("close"))
        )
        source = changes.withColumn(_ACTION, F.lit("insert")).unionByName(closes, allowMissingColumns=True)
        on = " AND ".join(
            [f"s.{_ACTION} = 'close'", "t.is_current", *[f"t.{quote(k)} <=> s.{quote(k)}" for k in keys]]
        )
        (
            target.alias("t")
            .merge(source.alias("s"), on)
            .whenMatchedUpdate(set={"valid_to": f"s.{_CLOSE_AT}", "is_current": "false"})
            .whenNotMatchedInsert(
                condition=f"s.{_ACTION} = 'insert'", values={c: f"s.{quote(c)}" for c in changes.columns}
            )
            .execute()
        )
        return True
    finally:
        changes.unpersist()


def append(
    spark: SparkSession,
    df: DataFrame,
    path: str,
    partition_by: Sequence[str] = (),
    txn: tuple[str, int] | None = None,
) -> bool:
    """Append rows. ``txn`` = (app id, batch id) makes a retried micro-batch a no-op in Delta."""
    delta.append(spark, df, path, txn=txn, partition_by=partition_by)
    return True


def overwrite_partitions(spark: SparkSession, df: DataFrame, path: str, partition_by: Sequence[str]) -> bool:
    """Replace exactly the partitions present in ``df`` (dynamic partition overwrite)."""
    if not delta.table_exists(spark, path):
        create_table(df, path, partition_by)
        return True
    (df.write.format("delta").mode("overwrite").option("partitionOverwriteMode", "dynamic").save(path))
    return True
