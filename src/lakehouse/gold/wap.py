"""Write-audit-publish of one staged batch to a gold table.

1. stage: apply the cleansing steps and mark each row's failed ``drop`` rules (plan only);
2. audit: evaluate every expectation on the staged rows and append the results to the metrics
   table; a tripped rule raises :class:`QualityError` before the gold table is touched;
3. publish: check merge keys, write with the table's mode, quarantine the dropped rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F  # noqa: N812

from lakehouse.errors import QualityError
from lakehouse.gold import writers
from lakehouse.gold.cleansing import apply_steps
from lakehouse.gold.scd2 import merge_scd2
from lakehouse.gold.spec import GoldSpec
from lakehouse.quality.evaluate import evaluate
from lakehouse.quality.results import RuleResult, write_metrics
from lakehouse.quality.rules import DROP_RULES_COL, drop_rules
from lakehouse.results import RunContext


@dataclass(frozen=True)
class Target:
    """Where one gold table and its side tables live."""

    dataset: str
    path: str
    metrics_path: str
    quarantine_path: str
    resolve: Callable[[str], str]
    txn_app: str | None = None


@dataclass
class BatchOutcome:
    """Counts of one published batch."""

    rows_read: int
    rows_staged: int
    rows_dropped: int
    rows_written: int
    results: list[RuleResult]


def _rows_written(spark: SparkSession, path: str) -> int:
    metrics = DeltaTable.forPath(spark, path).history(1).collect()[0]["operationMetrics"] or {}
    if "numOutputRows" in metrics and "numTargetRowsInserted" not in metrics:
        return int(metrics["numOutputRows"])
    return int(metrics.get("numTargetRowsInserted", 0)) + int(metrics.get("numTargetRowsUpdated", 0))


def _quality_error(target: Target, results: list[RuleResult], outcome: BatchOutcome) -> QualityError:
    first = next(r for r in results if r.tripped)
    others = [r.rule for r in results if r.tripped and r is not first]
    exc = QualityError(
        f"gold {target.dataset}: expectation {first.rule!r} ({first.kind}, action {first.action}) "
        f"failed: {first.rows_failed} of {first.rows_checked} rows failed, threshold "
        f"{first.threshold if first.threshold is not None else 0.0}, observed {first.observed}, "
        f"sample keys {first.sample_keys}"
        + (f"; also failed: {others}" if others else "")
        + "; the gold table was left unchanged"
    )
    exc.rule = first.rule  # type: ignore[attr-defined]
    exc.rows_failed = first.rows_failed  # type: ignore[attr-defined]
    exc.threshold = first.threshold  # type: ignore[attr-defined]
    exc.sample_keys = first.sample_keys  # type: ignore[attr-defined]
    exc.outcome = outcome  # type: ignore[attr-defined]
    return exc


def _write(
    spark: SparkSession,
    df: DataFrame,
    spec: GoldSpec,
    target: Target,
    batch_id: int | None,
    metadata: str | None = None,
) -> bool:
    with writers.commit_metadata(spark, metadata):
        return _write_mode(spark, df, spec, target, batch_id)


def _write_mode(
    spark: SparkSession, df: DataFrame, spec: GoldSpec, target: Target, batch_id: int | None
) -> bool:
    if spec.mode == "merge":
        writers.check_unique_keys(df, spec.keys, target=target.path)
        return writers.merge_scd1(spark, df, target.path, spec.keys, spec.partition_by)
    if spec.mode == "scd2":
        scd2 = spec.scd2
        eff = (scd2.effective_from if scd2 else None) or "_ingested_at"
        writers.check_unique_keys(df, [*spec.keys, eff], target=target.path)
        return merge_scd2(
            spark, df, target.path, spec.keys, eff, scd2.track if scd2 else None, spec.partition_by
        )
    if spec.mode == "append":
        txn = (target.txn_app, batch_id) if target.txn_app and batch_id is not None else None
        return writers.append(spark, df, target.path, spec.partition_by, txn)
    return writers.overwrite_partitions(spark, df, target.path, spec.partition_by)


def publish_batch(
    spark: SparkSession,
    batch: DataFrame,
    spec: GoldSpec,
    target: Target,
    ctx: RunContext,
    batch_id: int | None = None,
    metadata: str | None = None,
) -> BatchOutcome:
    """Stage, audit and publish one batch; raise QualityError (gold untouched) on a tripped rule.

    ``metadata`` becomes the ``userMetadata`` of the gold table's commit (not of the metrics
    or quarantine commits).
    """
    rows_read = batch.count()
    staged = (
        apply_steps(batch, spec.transforms)
        .withColumn(DROP_RULES_COL, drop_rules(spec.expectations))
        .persist()
    )
    try:
        results = evaluate(
            spark, staged.drop(DROP_RULES_COL), spec.expectations, keys=spec.keys, resolve=target.resolve
        )
        rows_staged = results[0].rows_checked if results else staged.count()
        write_metrics(spark, results, target.metrics_path, ctx, target.dataset, target.path)
        outcome = BatchOutcome(rows_read, rows_staged, rows_read - rows_staged, 0, results)
        if any(r.tripped for r in results):
            raise _quality_error(target, results, outcome)
        any_drop = any(r.rows_failed for r in results if r.action == "drop")
        dropped = staged.where(F.size(DROP_RULES_COL) > 0)
        n_dropped = dropped.count() if any_drop else 0
        outcome.rows_dropped += n_dropped
        kept = staged.where(F.size(DROP_RULES_COL) == 0).drop(DROP_RULES_COL)
        if rows_staged - n_dropped > 0 and _write(spark, kept, spec, target, batch_id, metadata):
            outcome.rows_written = _rows_written(spark, target.path)
        if n_dropped:
            (
                dropped.withColumnRenamed(DROP_RULES_COL, "_dropped_by")
                .withColumn("_gold_run_id", F.lit(ctx.run_id))
                .write.format("delta")
                .mode("append")
                .option("mergeSchema", "true")
                .save(target.quarantine_path)
            )
        return outcome
    finally:
        staged.unpersist()
