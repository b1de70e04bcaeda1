"""The gold layer's entry points: ``publish`` (a dataset) and ``publish_derived`` (SQL tables).

``publish`` reads only the silver rows new since its last successful run: a Delta stream
over the append-only silver table with ``trigger(availableNow=True)``, a checkpoint at
``<root>/_checkpoints/gold/<dataset>`` and ``foreachBatch`` running write-audit-publish on
each micro-batch. A batch that fails (a tripped expectation, duplicate keys) is not committed
to the checkpoint, so the next run retries it; a batch that succeeded is never read again, so
a rerun without new silver rows writes nothing. Merge, SCD2 and partition overwrite are
idempotent if a batch is replayed after a crash; append uses Delta's txnAppId/txnVersion.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyspark.errors import StreamingQueryException
from pyspark.sql import DataFrame, SparkSession

from lakehouse.errors import LakehouseError, PublishError
from lakehouse.gold.spec import DerivedSpec, GoldSpec
from lakehouse.gold.wap import BatchOutcome, Target, publish_batch
from lakehouse.gold.writers import table_exists, table_version
from lakehouse.quality.results import combine
from lakehouse.results import LayerResult, RunContext

if TYPE_CHECKING:
    from lakehouse.config.model import DatasetConfig, PipelineConfig

METRICS_TABLE = "_expectations"


def _target(config: PipelineConfig, dataset: str, table: str) -> Target:
    return Target(
        dataset=dataset,
        path=config.storage.table("gold", table),
        metrics_path=config.storage.table("gold", METRICS_TABLE),
        quarantine_path=config.storage.table("gold", f"{table}_quarantine"),
        resolve=lambda name: config.storage.table("gold", name),
        txn_app=f"lakehouse-gold:{config.name}:{dataset}",
    )


def _add(result: LayerResult, outcome: BatchOutcome) -> None:
    result.rows_read += outcome.rows_read
    result.rows_written += outcome.rows_written
    result.rows_dropped += outcome.rows_dropped
    rules = result.details.setdefault("rules", {})
    for r in outcome.results:
        old = rules.get(r.rule)
        rules[r.rule] = combine(old, r) if old is not None else r
    result.details["batches"] = result.details.get("batches", 0) + 1


def _finish(spark: SparkSession, result: LayerResult, path: str) -> LayerResult:
    result.table_version = table_version(spark, path)
    result.details.setdefault("target", path)
    rules = result.details.get("rules", {})
    result.details["rules"] = {name: r.to_dict() for name, r in rules.items()}
    return result


def _as_lakehouse_error(exc: Exception, name: str) -> LakehouseError:
    """Library errors pass through; Spark/SQL errors (a bad rule or step) become PublishError."""
    if isinstance(exc, LakehouseError):
        return exc
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    error = PublishError(f"gold {name}: {type(exc).__name__}: {first}")
    error.__cause__ = exc
    return error


def _failed_result(spark: SparkSession, result: LayerResult, path: str,
                   exc: Exception) -> LayerResult:
    outcome = getattr(exc, "outcome", None)
    if isinstance(outcome, BatchOutcome):
        _add(result, outcome)
    result.status = "failed"
    result.error = str(exc)
    return _finish(spark, result, path)


def publish(spark: SparkSession, dataset: DatasetConfig, config: PipelineConfig,
            ctx: RunContext) -> LayerResult:
    """Publish the silver rows new since the last gold run of ``dataset`` to its gold table.

    Raises QualityError (gold left at its previous version) when a rule trips, PublishError on
    duplicate merge keys; both carry the partial :class:`LayerResult` as ``exc.result``.
    """
    spec = dataset.gold
    if spec is None:
        raise PublishError(f"dataset {dataset.name!r} has no gold section")
    target = _target(config, dataset.name, spec.table)
    result = LayerResult(dataset.name, "gold")
    if not table_exists(spark, dataset.silver_path):
        result.details["note"] = f"no silver table at {dataset.silver_path}"
        return _finish(spark, result, target.path)
    errors: list[Exception] = []

    def on_batch(batch: DataFrame, batch_id: int) -> None:
        try:
            _add(result, publish_batch(spark, batch, spec, target, ctx, batch_id))
        except Exception as exc:  # kept to re-raise once the stream stopped
            errors.append(_as_lakehouse_error(exc, dataset.name))
            raise

    query = (spark.readStream.format("delta").load(dataset.silver_path)
             .writeStream.foreachBatch(on_batch)
             .option("checkpointLocation", config.storage.checkpoint("gold", dataset.name))
             .trigger(availableNow=True).start())
    try:
        query.awaitTermination()
    except StreamingQueryException as exc:
        cause = errors[0] if errors else PublishError(
            f"gold {dataset.name}: the silver stream failed: {str(exc).splitlines()[0]}")
        cause.result = _failed_result(spark, result, target.path, cause)  # type: ignore[attr-defined]
        raise cause from None
    return _finish(spark, result, target.path)


def _register_inputs(spark: SparkSession, spec: DerivedSpec, config: PipelineConfig) -> None:
    for name in spec.inputs:
        dataset = config.dataset(name)
        if dataset.gold is not None:
            path = config.storage.table("gold", dataset.gold.table)
            if not table_exists(spark, path):
                raise PublishError(f"derived {spec.name!r}: input gold table {path} does not exist "
                                   f"(run the gold layer of {name!r} first)")
            spark.read.format("delta").load(path).createOrReplaceTempView(f"gold_{dataset.gold.table}")
        if table_exists(spark, dataset.silver_path):
            spark.read.format("delta").load(dataset.silver_path).createOrReplaceTempView(f"silver_{name}")


def publish_derived(spark: SparkSession, spec: DerivedSpec, config: PipelineConfig,
                    ctx: RunContext) -> LayerResult:
    """Compute a derived gold table with Spark SQL over ``gold_<table>``/``silver_<dataset>`` views.

    Expectations are audited on the SQL result before the table is written with ``spec.mode``.
    """
    _register_inputs(spark, spec, config)
    gold = GoldSpec(table=spec.name, mode=spec.mode, keys=spec.keys,
                    partition_by=spec.partition_by, expectations=spec.expectations)
    target = _target(config, spec.name, spec.name)
    result = LayerResult(spec.name, "gold")
    try:
        _add(result, publish_batch(spark, spark.sql(spec.sql), gold, target, ctx))
    except Exception as exc:
        error = _as_lakehouse_error(exc, spec.name)
        error.result = _failed_result(spark, result, target.path, error)  # type: ignore[attr-defined]
        if error is exc:
            raise
        raise error from exc
    return _finish(spark, result, target.path)
