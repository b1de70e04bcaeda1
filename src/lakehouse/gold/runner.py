"""The gold layer for a dataset: ``publish`` its new silver rows to its gold table.

``publish`` reads only the silver rows new since its last successful run: the silver versions
after the one gold consumed last, read as one batch through the change data feed
(:mod:`lakehouse.io.increments`, state in ``<checkpoints>/gold/<dataset>/state.json``), and runs
write-audit-publish on them. A range that fails (a tripped expectation, duplicate keys) stays
planned, so the next run retries that same range; a committed range is never read again, so
a rerun without new silver rows writes nothing and starts no Spark job. Every write of a
range (merge, SCD2, partition overwrite, append, the quarantine, a change feed's writes)
carries Delta's txnAppId/txnVersion (the state's writer id, the range's last silver version):
a range replayed after a run died between its write and its state commit is skipped by
Delta, so the range has one commit and its counts come from it (a change feed also plans a
replay against gold as it was before the range).
Derived tables are published by :mod:`lakehouse.gold.derived`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyspark.sql import SparkSession

from lakehouse.constants import GOLD, QUARANTINE_SUFFIX, TOMBSTONES_SUFFIX
from lakehouse.errors import LakehouseError, PublishError, QualityError, summary
from lakehouse.gold.wap import Target, publish_batch
from lakehouse.io import delta
from lakehouse.io.increments import RangeState, ensure_change_feed, read_range
from lakehouse.results import BatchOutcome, LayerResult, RunContext, combine, working

if TYPE_CHECKING:
    from lakehouse.config.model import DatasetConfig, PipelineConfig


def target_of(config: PipelineConfig, dataset: str, table: str, *, change_feed: bool = False) -> Target:
    """Where gold table ``table`` of ``dataset`` and its metrics and quarantine tables live
    (and a change feed's tombstone table)."""
    return Target(
        dataset=dataset,
        path=config.storage.table(GOLD, table),
        metrics_path=config.storage.metrics,
        quarantine_path=config.storage.table(GOLD, f"{table}{QUARANTINE_SUFFIX}"),
        resolve=lambda name: config.storage.table(GOLD, name),
        tombstones_path=config.storage.table(GOLD, f"{table}{TOMBSTONES_SUFFIX}") if change_feed else None,
    )


def add_outcome(result: LayerResult, outcome: BatchOutcome) -> None:
    """Add one batch's counts and rule results to the layer result."""
    result.rows_read += outcome.rows_read
    result.rows_written += outcome.rows_written
    result.rows_dropped += outcome.rows_dropped
    rules = result.details.setdefault("rules", {})
    for r in outcome.results:
        rules[r.rule] = combine(rules.get(r.rule), r)
    result.details["batches"] = result.details.get("batches", 0) + 1
    if outcome.cdc is not None:
        totals = result.details.setdefault("cdc", {})
        for bucket, n in outcome.cdc.items():
            totals[bucket] = totals.get(bucket, 0) + n


def finish(spark: SparkSession, result: LayerResult, path: str) -> LayerResult:
    """Record the gold table's version and turn the rule results into JSON-ready dicts."""
    result.table_version = delta.table_version(spark, path)
    result.details.setdefault("target", path)
    rules = result.details.get("rules", {})
    result.details["rules"] = {name: r.to_dict() for name, r in rules.items()}
    return result


def as_lakehouse_error(exc: Exception, name: str) -> LakehouseError:
    """Library errors pass through; Spark/SQL errors (a bad rule or step) become PublishError."""
    if isinstance(exc, LakehouseError):
        return exc
    error = PublishError(f"gold {name}: {summary(exc)}")
    error.__cause__ = exc
    return error


def failed(spark: SparkSession, result: LayerResult, path: str, exc: LakehouseError) -> LayerResult:
    """The layer result of a failed publish: the failing batch's counts included."""
    if isinstance(exc, QualityError) and exc.outcome is not None:
        add_outcome(result, exc.outcome)
    result.status = "failed"
    result.error = str(exc)
    return finish(spark, result, path)


def publish(
    spark: SparkSession, dataset: DatasetConfig, config: PipelineConfig, ctx: RunContext
) -> LayerResult:
    """Publish the silver rows new since the last gold run of ``dataset`` to its gold table.

    Raises QualityError (gold left at its previous version) when a rule trips, PublishError on
    duplicate merge keys; both carry the partial :class:`LayerResult` as ``exc.result``.
    """
    spec = dataset.gold
    if spec is None:
        raise PublishError(f"dataset {dataset.name!r} has no gold section")
    target = target_of(config, dataset.name, spec.table, change_feed=spec.cdc is not None)
    result = LayerResult(dataset.name, GOLD)
    if not delta.table_exists(spark, dataset.silver_path):
        result.details["note"] = f"no silver table at {dataset.silver_path}"
        return finish(spark, result, target.path)
    state = RangeState(config.storage.checkpoint(GOLD, dataset.name))
    inc = state.next(spark, dataset.silver_path)
    if inc is None:
        return finish(spark, result, target.path)
    working()
    if not inc.replay:
        if inc.start == 0:
            ensure_change_feed(spark, dataset.silver_path)
        inc.before = {t: delta.table_version(spark, t) for t in target.tables()}
        state.plan(inc)
    result.details["versions_read"] = {dataset.silver_path: [inc.start, inc.end]}
    evolve = dataset.contract is not None and dataset.contract.on_new_columns == "evolve"
    try:
        batch, rows = read_range(spark, dataset.silver_path, inc)
        if rows:
            txn = (state.app_id(GOLD), inc.end)
            add_outcome(
                result,
                publish_batch(
                    spark, batch, spec, target, ctx, rows, txn=txn, before=inc.before, add_columns=evolve
                ),
            )
    except Exception as exc:
        error = as_lakehouse_error(exc, dataset.name)
        raise error.with_result(failed(spark, result, target.path, error)) from error.__cause__
    state.commit(inc, {"run_id": ctx.run_id, "read": result.rows_read, "written": result.rows_written})
    return finish(spark, result, target.path)
