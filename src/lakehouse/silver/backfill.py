"""Backfill, silver's part: take a bronze range's earlier output out of silver before the range
is read again.

``lakehouse backfill`` rewinds silver's state (:meth:`lakehouse.io.increments.RangeState.rewind`)
to a bronze version it consumed before. Before silver reads the range again, the rows it wrote
from that range, valid and quarantined, are deleted: the bronze files the range added are
known by ``_source_file`` and ``_ingested_at``, which silver and its quarantine carry on every
row. One marked MERGE per table (``userMetadata`` ``lakehouse-backfill ...`` and, where the
session cannot set it, the table property ``lakehouse.backfill.v<version>``), which gold passes
over: gold receives the range's rows again as new inserts and publishes them as it would any
batch (a merge or SCD2 of unchanged rows changes nothing).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lakehouse.io import delta
from lakehouse.io.increments import BACKFILL_MARKER, BACKFILL_PROPERTY, Increment, read_range
from lakehouse.log import get_logger

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from lakehouse.config.model import DatasetConfig

LINEAGE = ("_source_file", "_ingested_at")
_MATCH = " AND ".join(f"t.`{c}` <=> s.`{c}`" for c in LINEAGE)


def remove_range(
    spark: SparkSession, dataset: DatasetConfig, start: int, end: int, run_id: str
) -> dict[str, int]:
    """Delete from silver and its quarantine the rows of bronze versions ``start``..``end``.

    Returns the rows deleted per table (``silver``, ``quarantine``).
    """
    bronze, _ = read_range(spark, dataset.bronze_path, Increment(start, end))
    files = bronze.select(*LINEAGE).distinct()
    marker = f"{BACKFILL_MARKER} {run_id} bronze {start}..{end}"
    counts = {
        "silver": _delete_matching(spark, dataset.silver_path, files, marker),
        "quarantine": _delete_matching(spark, dataset.quarantine_path, files, marker),
    }
    get_logger("lakehouse.silver").info(
        "backfill removed earlier output", bronze_versions=f"{start}..{end}", **counts
    )
    return counts


def _delete_matching(spark: SparkSession, table: str, files: DataFrame, marker: str) -> int:
    before = delta.table_version(spark, table)
    if before is None:
        return 0
    marked = delta.set_commit_metadata(spark, marker)
    try:
        delta.merge(spark, files, table, f"ON {_MATCH} WHEN MATCHED THEN DELETE")
    finally:
        if marked:
            delta.set_commit_metadata(spark, None)
    commit = delta.latest_commit(spark, table)
    if commit is None or commit.version == before:
        return 0
    if not marked:
        ident = delta.ident(table)
        spark.sql(f"ALTER TABLE {ident} SET TBLPROPERTIES ('{BACKFILL_PROPERTY}{commit.version}' = 'true')")
    return int(commit.metrics.get("numTargetRowsDeleted", 0))
