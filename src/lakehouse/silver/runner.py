"""Silver for one dataset: read bronze rows new since the last successful run, route them.

Incremental: a streaming read of the bronze Delta table (trigger ``availableNow``) with its
own checkpoint at ``<root>/_checkpoints/silver/<dataset>``; each micro-batch is handled by
:func:`lakehouse.silver.batch.run_batch`. A run with nothing new processes no batch and
changes no table.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from lakehouse.constants import SILVER
from lakehouse.errors import ContractError
from lakehouse.io.delta import table_version
from lakehouse.log import get_logger
from lakehouse.results import LayerResult, RunContext
from lakehouse.silver.batch import BatchPlan, Totals, run_batch
from lakehouse.transforms.conform import drift

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from lakehouse.config.contract import Contract
    from lakehouse.config.model import DatasetConfig, PipelineConfig

_SCHEMA_CHANGED = ("DELTA_SCHEMA_CHANGED", "schema change", "DELTA_STREAMING_SCHEMA_EVOLUTION")
_MAX_RESTARTS = 3


def _salt(contract: Contract) -> str | None:
    """The PII salt, resolved only when a column is hashed (SecretError if it is missing)."""
    if not any(c.pii == "hash" for c in contract.columns):
        return None
    if contract.pii_salt is None:
        raise ContractError("a column has pii: hash but the contract has no pii_salt")
    return contract.pii_salt.resolve()


def _query_name(dataset: DatasetConfig) -> str:
    # Unique per table, so two pipelines with a dataset of the same name can share a session.
    digest = hashlib.sha1(dataset.silver_path.encode()).hexdigest()[:8]
    return f"lakehouse_silver_{dataset.name}_{digest}"


def _app_id(spark: SparkSession, dataset: DatasetConfig) -> str:
    # The query id is stored in the checkpoint: a new checkpoint means a new writer identity,
    # so Delta never skips its batches as "already written" by an older checkpoint.
    name = _query_name(dataset)
    ids = [str(q.id) for q in spark.streams.active if q.name == name]
    return f"lakehouse-silver-{dataset.name}-{ids[0] if ids else 'noid'}"


def _run_stream(
    spark: SparkSession,
    stream: DataFrame,
    dataset: DatasetConfig,
    config: PipelineConfig,
    ctx: RunContext,
    salt: str | None,
    totals: Totals,
) -> None:
    def handle(batch: DataFrame, batch_id: int) -> None:
        plan = BatchPlan(dataset, ctx.run_id, salt, _app_id(spark, dataset))
        run_batch(spark, batch, batch_id, plan, totals)

    query = (
        stream.writeStream.queryName(_query_name(dataset))
        .option("checkpointLocation", config.storage.checkpoint(SILVER, dataset.name))
        .trigger(availableNow=True)
        .foreachBatch(handle)
        .start()
    )
    query.awaitTermination()


def _stream_with_restarts(
    spark: SparkSession,
    dataset: DatasetConfig,
    config: PipelineConfig,
    ctx: RunContext,
    salt: str | None,
    totals: Totals,
) -> list[str]:
    """Run the stream; restart when bronze gained columns (Delta stops a stream once then)."""
    log = get_logger("lakehouse.silver")
    for attempt in range(_MAX_RESTARTS + 1):
        stream = spark.readStream.format("delta").load(dataset.bronze_path)
        try:
            _run_stream(spark, stream, dataset, config, ctx, salt, totals)
            return stream.columns
        except Exception as exc:
            if totals.error is not None:
                raise totals.error from None
            text = str(exc)
            if attempt < _MAX_RESTARTS and any(s in text for s in _SCHEMA_CHANGED):
                log.info("bronze schema changed; restarting the silver stream", attempt=attempt + 1)
                continue
            raise ContractError(
                f"dataset {dataset.name!r}: silver stream failed: "
                f"{text.splitlines()[0] if text else type(exc).__name__}"
            ) from exc
    raise AssertionError("unreachable")


def _result(
    dataset: DatasetConfig, totals: Totals, version: int | None, found: dict[str, list[str]]
) -> LayerResult:
    return LayerResult(
        dataset.name,
        SILVER,
        status="failed" if totals.error else "succeeded",
        rows_read=totals.read,
        rows_written=totals.written,
        rows_quarantined=totals.quarantined,
        table_version=version,
        details={
            "top_reasons": totals.top_reasons(),
            "reasons": totals.top_reasons(None),
            "drift": found,
            "batches": totals.batches,
            "rows_held_back": totals.held_back,
            "skipped_writes": totals.skipped_writes,
        },
    )


def process(
    spark: SparkSession, dataset: DatasetConfig, config: PipelineConfig, ctx: RunContext
) -> LayerResult:
    """Conform and check the bronze rows new since the last run; append valid rows to silver.

    Raises :class:`ContractError` (with ``.result`` holding the counts) when the quarantine rate
    exceeds the contract's ``max_quarantine_rate``; :class:`SecretError` when a hashed column's
    salt cannot be resolved.
    """
    log = get_logger("lakehouse.silver")
    contract = dataset.contract
    if contract is None:
        raise ContractError(f"dataset {dataset.name!r} has no contract; silver needs one")
    salt = _salt(contract)
    totals = Totals()
    if table_version(spark, dataset.bronze_path) is None:
        log.warning("no bronze table yet; nothing to do", path=dataset.bronze_path)
        return _result(dataset, totals, table_version(spark, dataset.silver_path), {})
    try:
        columns = _stream_with_restarts(spark, dataset, config, ctx, salt, totals)
    except ContractError as exc:
        partial = _result(dataset, totals, table_version(spark, dataset.silver_path), {})
        raise exc.with_result(partial) from exc.__cause__
    found = drift(columns, contract)
    log_drift = log.warning if any(found.values()) else log.info
    log_drift(
        "silver drift report",
        unknown_columns=found["unknown_columns"],
        missing_columns=found["missing_columns"],
    )
    result = _result(dataset, totals, table_version(spark, dataset.silver_path), found)
    log.info(
        "silver finished",
        rows_read=totals.read,
        rows_written=totals.written,
        rows_quarantined=totals.quarantined,
        top_reasons=totals.top_reasons(),
    )
    return result
