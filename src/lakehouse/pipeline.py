"""Run a pipeline: datasets x layers in order under one run_id, then derived gold tables.

A failure in one dataset's layer marks that layer failed and skips the dataset's later
layers; other datasets still run, and derived tables run only when all their inputs
succeeded. Every outcome is recorded in the run ledger (``<root>/_lakehouse_runs``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from lakehouse.config.validate import preflight
from lakehouse.constants import BRONZE, GOLD, LAYERS, SILVER
from lakehouse.errors import LakehouseError
from lakehouse.log import get_logger, layer_context, run_context
from lakehouse.results import LayerResult, RunContext, RunSummary, new_run_id

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from lakehouse.config.model import DatasetConfig, PipelineConfig

LayerFn = Callable[["SparkSession", "DatasetConfig", "PipelineConfig", RunContext], LayerResult]


def _layer_function(layer: str) -> LayerFn:
    # Imported here so that reading config or --help never imports pyspark.
    if layer == BRONZE:
        from lakehouse.bronze.runner import ingest

        return ingest
    if layer == SILVER:
        from lakehouse.silver.runner import process

        return process
    from lakehouse.gold.runner import publish

    return publish


def _failed(dataset: str, layer: str, exc: LakehouseError) -> LayerResult:
    result = exc.result if exc.result is not None else LayerResult(dataset, layer)
    result.status = "failed"
    result.error = str(exc)
    return result


def _describe(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[0][:300]}" if lines else type(exc).__name__


def unexpected(exc: Exception) -> str:
    """One line for an error that is not a library error: type, message and its cause."""
    cause = exc.__cause__ or exc.__context__
    return f"unexpected {_describe(exc)}" + (f" (cause: {_describe(cause)})" if cause is not None else "")


def _run_layer(
    fn: LayerFn,
    spark: SparkSession,
    dataset: DatasetConfig,
    layer: str,
    config: PipelineConfig,
    ctx: RunContext,
) -> LayerResult:
    log = get_logger("lakehouse.pipeline")
    with layer_context(dataset.name, layer):
        log.info("layer started")
        try:
            result = fn(spark, dataset, config, ctx)
        except LakehouseError as exc:
            log.error("layer failed", error=str(exc), error_type=type(exc).__name__)
            return _failed(dataset.name, layer, exc)
        except Exception as exc:  # a bug or an environment failure: isolate it to this dataset
            log.error("layer failed", error=unexpected(exc), error_type=type(exc).__name__)
            log.debug("layer failure traceback", exc_info=True)
            return LayerResult(dataset.name, layer, status="failed", error=unexpected(exc))
        log.info(
            "layer finished",
            rows_read=result.rows_read,
            rows_written=result.rows_written,
            rows_quarantined=result.rows_quarantined,
            rows_dropped=result.rows_dropped,
            table_version=result.table_version,
        )
        return result


def run_pipeline(
    spark: SparkSession,
    config: PipelineConfig,
    *,
    datasets: Sequence[str] | None = None,
    layers: Sequence[str] = LAYERS,
    run_id: str | None = None,
    record: bool = True,
    wait: float | None = None,
) -> RunSummary:
    """Run the selected datasets and layers of a pipeline and return what happened.

    Errors are caught per layer and reported in the summary (status ``failed``, one line with
    its cause): a failing dataset never stops the others. A configuration that would fail
    at run time (see :mod:`lakehouse.config.validate`) raises ConfigError before any layer
    runs. Only one run of a pipeline (per storage root) runs at a time: with ``run_lock``
    enabled (the default) a second run waits up to ``wait`` seconds (default: the config's
    ``run_lock.wait``) and then raises :class:`~lakehouse.errors.PipelineBusyError`.
    """
    names = list(datasets) if datasets else list(config.datasets)
    selected = [config.dataset(n) for n in names]
    if config.node is not None:  # read by load_config, so every key can be located
        preflight(config, names, layers)
    ctx = RunContext(run_id=run_id or new_run_id(), pipeline=config.name, env=config.env)
    summary = RunSummary(run_id=ctx.run_id, pipeline=config.name, env=config.env)
    log = get_logger("lakehouse.pipeline")
    with run_context(ctx.run_id, config.name), _run_lock(spark, config, ctx, wait, summary):
        log.info("run started", env=config.env, datasets=names, layers=list(layers), root=config.storage.root)
        ok: dict[str, bool] = {}
        for dataset in selected:
            healthy = True
            for layer in LAYERS:
                if layer not in layers or layer not in dataset.layers:
                    continue
                if not healthy:
                    summary.results.append(
                        LayerResult(dataset.name, layer, status="skipped", error="an earlier layer failed")
                    )
                    continue
                result = _run_layer(_layer_function(layer), spark, dataset, layer, config, ctx)
                summary.results.append(result)
                healthy = result.status == "succeeded"
            ok[dataset.name] = healthy
        if GOLD in layers and config.derived:
            summary.results.extend(_run_derived(spark, config, ctx, ok, names))
    failures = [r for r in summary.results if r.status == "failed"]
    if failures and summary.status != "failed":
        summary.status = "failed"
        summary.error = f"{failures[0].dataset}/{failures[0].layer}: {failures[0].error}"
    with run_context(ctx.run_id, config.name):
        if record:
            from lakehouse.ledger import record_run

            record_run(spark, config, ctx, summary)
        log.info("run finished", status=summary.status, error=summary.error)
    return summary


@contextmanager
def _run_lock(
    spark: SparkSession, config: PipelineConfig, ctx: RunContext, wait: float | None, summary: RunSummary
) -> Iterator[None]:
    """Hold the pipeline's run lock around the run; a lease lost on the way fails the run."""
    settings = config.run_lock
    if not settings.enabled:
        yield
        return
    from lakehouse.io.lease import acquire

    lease = acquire(
        spark,
        config.storage.locks,
        config.name,
        ctx.run_id,
        duration_s=settings.lease_seconds,
        wait_s=settings.wait_seconds if wait is None else wait,
    )
    try:
        yield
    finally:
        lost = lease.release()
        if lost:
            get_logger("lakehouse.pipeline").error("run lock lost", error=lost)
            summary.status = "failed"
            summary.error = f"{lost}; another run may have written concurrently"


def _run_derived(
    spark: SparkSession, config: PipelineConfig, ctx: RunContext, ok: dict[str, bool], selected: list[str]
) -> list[LayerResult]:
    from lakehouse.gold.derived import publish_derived

    log = get_logger("lakehouse.pipeline")
    out: list[LayerResult] = []
    for spec in config.derived:
        if not all(dep in selected for dep in spec.inputs):
            continue  # a run of some datasets only leaves derived tables of others alone
        if not all(ok[dep] for dep in spec.inputs):
            out.append(
                LayerResult(spec.name, GOLD, status="skipped", error="an input dataset failed in this run")
            )
            continue
        with layer_context(spec.name, GOLD):
            try:
                out.append(publish_derived(spark, spec, config, ctx))
            except LakehouseError as exc:
                log.error("derived table failed", error=str(exc))
                out.append(_failed(spec.name, GOLD, exc))
            except Exception as exc:
                log.error("derived table failed", error=unexpected(exc))
                log.debug("derived table failure traceback", exc_info=True)
                out.append(LayerResult(spec.name, GOLD, status="failed", error=unexpected(exc)))
    return out
