"""The expectation metrics table: one Delta row per rule and batch (a path or a table name)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from lakehouse.io import delta
from lakehouse.io.rows import local_frame

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from lakehouse.results import RuleResult, RunContext

METRICS_SCHEMA = (
    "run_id string, pipeline string, dataset string, target string, rule string, kind string, "
    "action string, rows_checked long, rows_failed long, threshold double, passed boolean, "
    "sample_keys array<string>, observed string, evaluated_at timestamp"
)


def write_metrics(
    spark: SparkSession, results: Sequence[RuleResult], path: str, ctx: RunContext, dataset: str, target: str
) -> None:
    """Append one row per rule to the Delta metrics table at ``path``."""
    if not results:
        return
    now = datetime.now(timezone.utc)
    rows = [
        (
            ctx.run_id,
            ctx.pipeline,
            dataset,
            target,
            r.rule,
            r.kind,
            r.action,
            r.rows_checked,
            r.rows_failed,
            r.threshold,
            r.passed,
            list(r.sample_keys),
            r.observed,
            now,
        )
        for r in results
    ]
    delta.append(spark, local_frame(spark, rows, METRICS_SCHEMA), path, properties=delta.LOG_TABLE_PROPERTIES)
