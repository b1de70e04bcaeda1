"""The run ledger: one Delta row per run x dataset x layer with status, counts and versions,
and the schema drift (unknown and missing columns) the layer found in the files of the run.

A path (``<root>/_lakehouse_runs``) or a Unity Catalog name (``<catalog>.<ops schema>.lakehouse_runs``).

``counts`` holds a layer's rows by outcome beyond the four ``rows_*`` columns: a change-feed
gold layer's buckets (inserted, updated, deleted, stale, duplicate, no_op); NULL elsewhere.
The column was added after the first release: appends merge it into an older ledger.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from lakehouse.io import delta

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from lakehouse.config.model import PipelineConfig
    from lakehouse.results import RunContext, RunSummary

LEDGER_SCHEMA = (
    "run_id string, pipeline string, env string, dataset string, layer string, status string, "
    "rows_read long, rows_written long, rows_quarantined long, rows_dropped long, "
    "table_version long, files long, error string, started_at timestamp, finished_at timestamp, "
    "counts map<string,bigint>, unknown_columns array<string>, missing_columns array<string>"
)


def _drift(details: dict[str, Any], kind: str) -> list[str] | None:
    """The batch-level drift a layer reported (bronze and silver), else None."""
    found = (details.get("drift") or {}).get(kind)
    return sorted(found) if found else None


def record_run(spark: SparkSession, config: PipelineConfig, ctx: RunContext, summary: RunSummary) -> None:
    """Append the summary's rows to ``<root>/_lakehouse_runs``."""
    finished = datetime.now(timezone.utc).replace(tzinfo=None)
    started = ctx.started_at.astimezone(timezone.utc).replace(tzinfo=None)
    rows = [
        (
            ctx.run_id,
            ctx.pipeline,
            ctx.env,
            r.dataset,
            r.layer,
            r.status,
            r.rows_read,
            r.rows_written,
            r.rows_quarantined,
            r.rows_dropped,
            r.table_version,
            r.files,
            r.error,
            started,
            finished,
            r.details.get("cdc"),
            _drift(r.details, "unknown_columns"),
            _drift(r.details, "missing_columns"),
        )
        for r in summary.results
    ]
    if not rows:
        return
    # Schema merge: a ledger written before the counts or drift columns existed gains them.
    delta.append(spark, spark.createDataFrame(rows, LEDGER_SCHEMA), config.storage.runs, merge_schema=True)


def read_ledger(spark: SparkSession, config: PipelineConfig) -> DataFrame:
    """The run ledger as a DataFrame."""
    return delta.read_table(spark, config.storage.runs)
