"""Publish a staged DataFrame to a gold Delta table: merge (SCD1), append, overwrite_partitions.

SCD2 lives in ``scd2.py``. Every writer returns True when it committed a new table version.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F  # noqa: N812

from lakehouse.errors import PublishError
from lakehouse.quality.rules import row_key

DUPLICATE_SAMPLES = 10
# Session conf Delta copies into ``commitInfo.userMetadata`` (DeltaTable.merge has no options).
USER_METADATA_CONF = "spark.databricks.delta.commitInfo.userMetadata"


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


def table_exists(spark: SparkSession, path: str) -> bool:
    """True when a Delta table exists at ``path``."""
    return DeltaTable.isDeltaTable(spark, path)


def table_version(spark: SparkSession, path: str) -> int | None:
    """The latest Delta version of the table at ``path`` (None when there is no table)."""
    if not table_exists(spark, path):
        return None
    return int(DeltaTable.forPath(spark, path).history(1).select("version").collect()[0][0])


def latest_commit(spark: SparkSession, path: str) -> tuple[int, str | None] | None:
    """(version, userMetadata) of the table's latest commit; None when there is no table."""
    if not table_exists(spark, path):
        return None
    row = DeltaTable.forPath(spark, path).history(1).select("version", "userMetadata").collect()[0]
    return int(row[0]), row[1]


@contextmanager
def commit_metadata(spark: SparkSession, metadata: str | None) -> Iterator[None]:
    """Attach ``metadata`` as ``userMetadata`` to the Delta commits made inside (MERGE too).

    The session conf is restored on exit, so only the commits of this block carry it.
    """
    if metadata is None:
        yield
        return
    previous = spark.conf.get(USER_METADATA_CONF, None)
    spark.conf.set(USER_METADATA_CONF, metadata)
    try:
        yield
    finally:
        if previous is None:
            spark.conf.unset(USER_METADATA_CONF)
        else:
            spark.conf.set(USER_METADATA_CONF, previous)


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
    if not table_exists(spark, path):
        create_table(df, path, partition_by)
        return True
    on = " AND ".join(f"t.`{k}` <=> s.`{k}`" for k in keys)
    values = [c for c in df.columns if c not in keys]
    changed = " OR ".join(f"NOT (t.`{c}` <=> s.`{c}`)" for c in values) or "false"
    (
        DeltaTable.forPath(spark, path)
        .alias("t")
        .merge(df.alias("s"), on)
        .whenMatchedUpdateAll(condition=changed)
        .whenNotMatchedInsertAll()
        .execute()
    )
    return True


def append(
    spark: SparkSession,
    df: DataFrame,
    path: str,
    partition_by: Sequence[str] = (),
    txn: tuple[str, int] | None = None,
) -> bool:
    """Append rows. ``txn`` = (app id, batch id) makes a retried micro-batch a no-op in Delta."""
    writer = df.write.format("delta").mode("append")
    if txn is not None:
        writer = writer.option("txnAppId", txn[0]).option("txnVersion", txn[1])
    if partition_by and not table_exists(spark, path):
        writer = writer.partitionBy(*partition_by)
    writer.save(path)
    return True


def overwrite_partitions(spark: SparkSession, df: DataFrame, path: str, partition_by: Sequence[str]) -> bool:
    """Replace exactly the partitions present in ``df`` (dynamic partition overwrite)."""
    if not table_exists(spark, path):
        create_table(df, path, partition_by)
        return True
    (df.write.format("delta").mode("overwrite").option("partitionOverwriteMode", "dynamic").save(path))
    return True
