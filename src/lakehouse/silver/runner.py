"""Silver for one dataset: read the bronze rows appended since the last run, route them.

Incremental without a stream: the bronze versions after the one silver consumed last are read
as one batch through the change data feed (:mod:`lakehouse.io.increments`), with the range
planned in ``<checkpoints>/silver/<dataset>/state.json`` before anything is written. A run
with nothing new compares two Delta versions and returns without a Spark job.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lakehouse.constants import DRIFT, SILVER
from lakehouse.errors import ContractError, LakehouseError
from lakehouse.io import delta
from lakehouse.io.increments import RangeState, ensure_change_feed, range_metadata, read_range
from lakehouse.log import get_logger
from lakehouse.results import LayerResult, RunContext, working
from lakehouse.silver import drift as silver_drift
from lakehouse.silver import replay as silver_replay
from lakehouse.silver.backfill import remove_range
from lakehouse.silver.batch import BatchPlan, Totals, run_increment

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from lakehouse.config.contract import Contract
    from lakehouse.config.model import DatasetConfig, PipelineConfig


def _salt(contract: Contract) -> str | None:
    """The PII salt, resolved only when a column is hashed (SecretError if it is missing)."""
    if not any(c.pii == "hash" for c in contract.columns):
        return None
    if contract.pii_salt is None:
        raise ContractError("a column has pii: hash but the contract has no pii_salt")
    return contract.pii_salt.resolve()


def _result(
    dataset: DatasetConfig,
    totals: Totals,
    version: int | None,
    found: dict[str, list[str]],
    failed: bool = False,
) -> LayerResult:
    return LayerResult(
        dataset.name,
        SILVER,
        status="failed" if failed else "succeeded",
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
            "extra_fields_kept": totals.extra_fields_kept,
        },
    )


def _replay(
    spark: SparkSession,
    dataset: DatasetConfig,
    ctx: RunContext,
    salt: str | None,
    state: RangeState,
    totals: Totals,
) -> dict[str, Any] | None:
    """Carry out a recorded quarantine replay (``lakehouse quarantine replay``), if any; its
    rows count as read, and as written or quarantined."""
    request = silver_replay.pending(state.dir)
    if request is None:
        return None
    working()
    done = silver_replay.carry_out(spark, dataset, ctx.run_id, salt, state.dir, request)
    totals.read += done["to_silver"] + done["still_quarantined"]
    totals.written += done["to_silver"]
    totals.quarantined += done["still_quarantined"]
    return {"replay_id": int(request["id"]), "reason": request.get("reason"), **done}


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
    state = RangeState(config.storage.checkpoint(SILVER, dataset.name))
    backfill = state.backfill()
    if backfill is not None:  # lakehouse backfill: the range's earlier output goes first
        working()
        backfill["removed"] = remove_range(
            spark, dataset, int(backfill["start"]), int(backfill["end"]), ctx.run_id
        )
        state.backfill_removed(backfill["removed"])
    replayed = _replay(spark, dataset, ctx, salt, state, totals)
    inc = state.next(spark, dataset.bronze_path)
    if inc is None:
        log.info("nothing new in bronze", consumed=state.consumed())
        result = _result(dataset, totals, delta.table_version(spark, dataset.silver_path), {})
        if replayed is not None:
            result.details["replay"] = replayed
        return result
    working()
    if not inc.replay:
        if inc.start == 0:
            ensure_change_feed(spark, dataset.bronze_path)
        inc.before = {
            t: delta.table_version(spark, t) for t in (dataset.silver_path, dataset.quarantine_path)
        }
        state.plan(inc)
    found = silver_drift.merge(range_metadata(spark, dataset.bronze_path, inc, DRIFT))
    plan = BatchPlan(dataset, ctx.run_id, salt, state.app_id(SILVER), found)
    try:
        message = silver_drift.error(found, contract, dataset.name)
        if message:
            raise ContractError(message)
        bronze, read = read_range(spark, dataset.bronze_path, inc)
        run_increment(spark, bronze, read, inc, plan, totals)
    except LakehouseError as exc:
        version = delta.table_version(spark, dataset.silver_path)
        partial = _result(dataset, totals, version, silver_drift.names(found), failed=True)
        raise exc.with_result(partial) from exc.__cause__
    state.commit(inc, {"run_id": ctx.run_id, "read": totals.read, "written": totals.written,
                       "quarantined": totals.quarantined})  # fmt: skip
    drift = silver_drift.names(found)
    log_drift = log.warning if any(drift.values()) else log.info
    log_drift(
        "silver drift report",
        unknown_columns=drift["unknown_columns"],
        missing_columns=drift["missing_columns"],
        on_new_columns=contract.on_new_columns,
        on_missing_columns=contract.on_missing_columns,
    )
    result = _result(dataset, totals, delta.table_version(spark, dataset.silver_path), drift)
    result.details["drift_files"] = found
    result.details["versions_read"] = {dataset.bronze_path: [inc.start, inc.end]}
    if replayed is not None:
        result.details["replay"] = replayed
    if backfill is not None:
        result.details["backfill"] = {
            "bronze_versions": [backfill["start"], backfill["end"]],
            "removed_first": backfill["removed"],
        }
    log.info(
        "silver finished",
        bronze_versions=f"{inc.start}..{inc.end}",
        replayed=inc.replay,
        rows_read=totals.read,
        rows_written=totals.written,
        rows_quarantined=totals.quarantined,
        top_reasons=totals.top_reasons(),
    )
    return result
