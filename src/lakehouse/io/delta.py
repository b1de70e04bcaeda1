"""Delta table helpers: existence, version, the latest commit, reads and appends.

Every look at a table's history (its version, a commit's ``userMetadata`` or operation
metrics) goes through here, in the library and in the tests.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from delta.tables import DeltaTable

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

# Session conf Delta copies into ``commitInfo.userMetadata`` (DeltaTable.merge has no options).
USER_METADATA_CONF = "spark.databricks.delta.commitInfo.userMetadata"


@dataclass(frozen=True)
class Commit:
    """One commit of a Delta table: its version, ``userMetadata`` and operation metrics."""

    version: int
    user_metadata: str | None = None
    metrics: Mapping[str, str] = field(default_factory=dict)

    @property
    def rows_written(self) -> int:
        """Rows the commit wrote: appended, or inserted plus updated by a MERGE."""
        if "numOutputRows" in self.metrics and "numTargetRowsInserted" not in self.metrics:
            return int(self.metrics["numOutputRows"])
        inserted = int(self.metrics.get("numTargetRowsInserted", 0))
        return inserted + int(self.metrics.get("numTargetRowsUpdated", 0))


def table_exists(spark: SparkSession, path: str) -> bool:
    """True when a Delta table exists at ``path``."""
    return bool(DeltaTable.isDeltaTable(spark, path))


def latest_commit(spark: SparkSession, path: str) -> Commit | None:
    """The table's latest commit; None when there is no table at ``path``."""
    if not table_exists(spark, path):
        return None
    history = DeltaTable.forPath(spark, path).history(1)
    row = history.select("version", "userMetadata", "operationMetrics").first()
    if row is None:
        return None
    return Commit(int(row[0]), row[1], dict(row[2] or {}))


def table_version(spark: SparkSession, path: str) -> int | None:
    """The latest Delta version of the table at ``path`` (None when there is no table)."""
    commit = latest_commit(spark, path)
    return None if commit is None else commit.version


def read_table(spark: SparkSession, path: str, version: int | None = None) -> DataFrame:
    """The Delta table at ``path`` (at ``version`` when given)."""
    reader = spark.read.format("delta")
    if version is not None:
        reader = reader.option("versionAsOf", version)
    return reader.load(path)


def append(
    spark: SparkSession,
    df: DataFrame,
    path: str,
    *,
    txn: tuple[str, int] | None = None,
    merge_schema: bool | None = None,
    partition_by: Sequence[str] = (),
) -> None:
    """Append ``df`` to the Delta table at ``path`` (created on the first append).

    ``txn`` = (app id, version) makes the append idempotent: Delta skips a write whose
    version it already committed for that app id (a replayed batch). ``merge_schema`` set
    either way overrides the session's schema auto-merge; ``partition_by`` applies when the
    table is created.
    """
    writer = df.write.format("delta").mode("append")
    if txn is not None:
        writer = writer.option("txnAppId", txn[0]).option("txnVersion", str(txn[1]))
    if merge_schema is not None:
        writer = writer.option("mergeSchema", str(merge_schema).lower())
    if partition_by and not table_exists(spark, path):
        writer = writer.partitionBy(*partition_by)
    writer.save(path)


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
