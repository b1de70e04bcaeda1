"""The gold layer's entry points: ``publish`` (a dataset) and ``publish_derived`` (SQL tables).

``publish`` reads only the silver rows new since its last successful run: a Delta stream
over the append-only silver table with ``trigger(availableNow=True)``, a checkpoint at
``<root>/_checkpoints/gold/<dataset>`` and ``foreachBatch`` running write-audit-publish on
each micro-batch. A batch that fails (a tripped expectation, duplicate keys) is not committed
to the checkpoint, so the next run retries it; a batch that succeeded is never read again, so
a rerun without new silver rows writes nothing. Merge, SCD2 and partition overwrite are
idempotent if a batch is replayed after a crash; append uses Delta's txnAppId/txnVersion.

``publish_derived`` records the Delta versions of its inputs in its commit's ``userMetadata``
and skips the whole computation when they (and the definition) did not change since.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from typing import TYPE_CHECKING, Any

from pyspark.errors import StreamingQueryException
from pyspark.sql import DataFrame, SparkSession

from lakehouse.errors import LakehouseError, PublishError
from lakehouse.gold.spec import DerivedSpec, GoldSpec
from lakehouse.gold.wap import BatchOutcome, Target, publish_batch
from lakehouse.gold.writers import latest_commit, table_exists, table_version
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


def _failed_result(spark: SparkSession, result: LayerResult, path: str, exc: Exception) -> LayerResult:
    outcome = getattr(exc, "outcome", None)
    if isinstance(outcome, BatchOutcome):
        _add(result, outcome)
    result.status = "failed"
    result.error = str(exc)
    return _finish(spark, result, path)


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

    query = (
        spark.readStream.format("delta")
        .load(dataset.silver_path)
        .writeStream.foreachBatch(on_batch)
        .option("checkpointLocation", config.storage.checkpoint("gold", dataset.name))
        .trigger(availableNow=True)
        .start()
    )
    try:
        query.awaitTermination()
    except StreamingQueryException as exc:
        cause = (
            errors[0]
            if errors
            else PublishError(f"gold {dataset.name}: the silver stream failed: {str(exc).splitlines()[0]}")
        )
        cause.result = _failed_result(spark, result, target.path, cause)  # type: ignore[attr-defined]
        raise cause from None
    return _finish(spark, result, target.path)


SKIP_REASON = "inputs unchanged"
_METADATA_KEY = "lakehouse_derived"


def _silver_referenced(sql: str, dataset: str) -> bool:
    """True when ``sql`` names the view ``silver_<dataset>`` (identifiers are case-insensitive)."""
    return re.search(rf"(?<![\w]){re.escape(f'silver_{dataset}')}(?![\w])", sql, re.IGNORECASE) is not None


def _fingerprint(spec: DerivedSpec) -> str:
    """A hash of the derived table's definition: a changed SQL, mode or rule republishes."""
    text = json.dumps(dataclasses.asdict(spec), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _input_versions(
    spark: SparkSession, spec: DerivedSpec, config: PipelineConfig
) -> tuple[dict[str, int], dict[str, tuple[str, str]]]:
    """The Delta version of every table the SQL reads, and the views to register.

    Keys of the versions are ``gold/<table>`` and ``silver/<dataset>``; silver tables count only
    when the SQL references their ``silver_<dataset>`` view. ``views`` maps a temp view name to
    (table path, version key).
    """
    versions: dict[str, int] = {}
    views: dict[str, tuple[str, str]] = {}
    for name in spec.inputs:
        dataset = config.dataset(name)
        if dataset.gold is not None:
            path = config.storage.table("gold", dataset.gold.table)
            version = table_version(spark, path)
            if version is None:
                raise PublishError(
                    f"derived {spec.name!r}: input gold table {path} does not exist "
                    f"(run the gold layer of {name!r} first)"
                )
            key = f"gold/{dataset.gold.table}"
            versions[key] = version
            views[f"gold_{dataset.gold.table}"] = (path, key)
        if _silver_referenced(spec.sql, name):
            version = table_version(spark, dataset.silver_path)
            if version is not None:
                versions[f"silver/{name}"] = version
                views[f"silver_{name}"] = (dataset.silver_path, f"silver/{name}")
    return versions, views


def _register_inputs(
    spark: SparkSession, views: dict[str, tuple[str, str]], versions: dict[str, int]
) -> None:
    """Register each input as a temp view pinned to the version recorded for it."""
    for view, (path, key) in views.items():
        (
            spark.read.format("delta")
            .option("versionAsOf", versions[key])
            .load(path)
            .createOrReplaceTempView(view)
        )


def _last_publish(spark: SparkSession, path: str) -> tuple[int | None, dict[str, Any] | None]:
    """The derived table's version and the inputs recorded by its latest commit (if ours)."""
    latest = latest_commit(spark, path)
    if latest is None:
        return None, None
    version, metadata = latest
    try:
        recorded = json.loads(metadata) if metadata else None
    except ValueError:
        recorded = None
    if not isinstance(recorded, dict) or not isinstance(recorded.get(_METADATA_KEY), dict):
        return version, None
    return version, recorded[_METADATA_KEY]


def publish_derived(
    spark: SparkSession, spec: DerivedSpec, config: PipelineConfig, ctx: RunContext
) -> LayerResult:
    """Compute a derived gold table with Spark SQL over ``gold_<table>``/``silver_<dataset>`` views.

    Expectations are audited on the SQL result before the table is written with ``spec.mode``.
    The commit records the Delta version of every input (and a hash of ``spec``) as its
    ``userMetadata``; when the table's latest commit recorded the same versions and hash, nothing
    is computed or written (``details["skipped"]``, same ``table_version``). Inputs are read at
    exactly the recorded versions. A failed publish commits nothing, so the next run retries.
    """
    target = _target(config, spec.name, spec.name)
    result = LayerResult(spec.name, "gold")
    fingerprint = _fingerprint(spec)
    try:
        versions, views = _input_versions(spark, spec, config)
        version, recorded = _last_publish(spark, target.path)
        if recorded and recorded.get("inputs") == versions and recorded.get("spec") == fingerprint:
            result.table_version = version
            result.details = {"skipped": SKIP_REASON}
            return result
        _register_inputs(spark, views, versions)
        gold = GoldSpec(
            table=spec.name,
            mode=spec.mode,
            keys=spec.keys,
            partition_by=spec.partition_by,
            expectations=spec.expectations,
        )
        metadata = json.dumps(
            {_METADATA_KEY: {"inputs": versions, "spec": fingerprint, "run_id": ctx.run_id}}, sort_keys=True
        )
        _add(result, publish_batch(spark, spark.sql(spec.sql), gold, target, ctx, metadata=metadata))
    except Exception as exc:
        error = _as_lakehouse_error(exc, spec.name)
        error.result = _failed_result(spark, result, target.path, error)  # type: ignore[attr-defined]
        if error is exc:
            raise
        raise error from exc
    return _finish(spark, result, target.path)
