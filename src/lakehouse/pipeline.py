"""Run a pipeline: datasets x layers in order under one run_id, then derived gold tables.

A failure in one dataset's layer marks that layer failed and skips the dataset's later
layers; other datasets still run, and derived tables run only when all their inputs
succeeded. Every outcome is recorded in the run ledger (``<root>/_lakehouse_runs``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from functools import partial
from typing import TYPE_CHECKING

from lakehouse.config.validate import preflight
from lakehouse.constants import BRONZE, GOLD, LAYERS, SILVER
from lakehouse.errors import LakehouseError, summary
from lakehouse.log import get_logger, layer_context, run_context
from lakehouse.results import LayerResult, RunContext, RunSummary, new_run_id, on_work

RUNNING, WARNED = "running", "succeeded_with_warnings"
OK = ("succeeded", WARNED)

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from lakehouse.config.model import DatasetConfig, PipelineConfig
    from lakehouse.ledger import Ledger

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
    result.details["error_class"] = type(exc).__name__
    return result


def unexpected(exc: Exception) -> str:
    """One line for an error that is not a library error: type, message and its cause."""
    cause = exc.__cause__ or exc.__context__
    return f"unexpected {summary(exc)}" + (f" (cause: {summary(cause)})" if cause is not None else "")


def _crashed(dataset: str, layer: str, exc: Exception) -> LayerResult:
    """The end state of a layer that raised something other than a library error."""
    result = LayerResult(dataset, layer, status="failed", error=unexpected(exc))
    result.details["error_class"] = type(exc).__name__
    return result


def _warnings(result: LayerResult) -> list[str]:
    """What a succeeded layer should tell its user: files set aside, failed ``warn`` expectations."""
    found = [
        f"file set aside: {path} ({reason})"
        for path, reason in (result.details.get("bad_files") or {}).items()
    ]
    for name, rule in (result.details.get("rules") or {}).items():
        if rule.get("action") == "warn" and not rule.get("passed", True):
            failed, checked = rule.get("rows_failed"), rule.get("rows_checked")
            found.append(f"expectation {name} (warn) failed on {failed} of {checked} rows")
    return found


def _timed(ledger: Ledger, dataset: str, layer: str, step: Callable[[], LayerResult]) -> LayerResult:
    """Run one layer step: ``running`` in the ledger, its own start and end times, its end state.

    Any error ends the layer ``failed`` (a library error with its message, anything else as
    one line with its class and cause); the caller's other datasets run on.
    """
    log = get_logger("lakehouse.pipeline")
    started = datetime.now(timezone.utc)
    running = LayerResult(dataset, layer, status=RUNNING, started_at=started)
    # The layer's ``running`` event is written when the layer reports work (results.working):
    # a layer with nothing new to read costs no ledger commit of its own, only its end state,
    # which goes out with the next event or the run's last one.
    with layer_context(dataset, layer), on_work(lambda: ledger.started(running)):
        log.info("layer started")
        try:
            result = step()
        except LakehouseError as exc:
            log.error("layer failed", error=str(exc), error_type=type(exc).__name__)
            result = _failed(dataset, layer, exc)
        except Exception as exc:  # a bug or an environment failure: isolate it to this dataset
            log.error("layer failed", error=unexpected(exc), error_type=type(exc).__name__)
            log.debug("layer failure traceback", exc_info=True)
            result = _crashed(dataset, layer, exc)
        result.started_at, result.finished_at = started, datetime.now(timezone.utc)
        warnings = _warnings(result) if result.status == "succeeded" else []
        if warnings:
            result.status = WARNED
            result.details["warnings"] = warnings
        if result.status != "failed":
            log.info(
                "layer finished",
                status=result.status,
                rows_read=result.rows_read,
                rows_written=result.rows_written,
                rows_quarantined=result.rows_quarantined,
                rows_dropped=result.rows_dropped,
                table_version=result.table_version,
                duration_s=result.duration_s,
            )
        ledger.finished([result])
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
    only: Mapping[str, Sequence[str]] | None = None,
    derived: Sequence[str] | None = None,
    prepare: Callable[[], None] | None = None,
) -> RunSummary:
    """Run the selected datasets and layers of a pipeline and return what happened.

    Errors are caught per layer and reported in the summary (status ``failed``, one line with
    its cause): a failing dataset never stops the others. A configuration that would fail
    at run time (see :mod:`lakehouse.config.validate`) raises ConfigError before any layer
    runs. Only one run of a pipeline (per storage root) runs at a time: with ``run_lock``
    enabled (the default) a second run waits up to ``wait`` seconds (default: the config's
    ``run_lock.wait``) and then raises :class:`~lakehouse.errors.PipelineBusyError` having
    written nothing to the ledger (the run that holds the lock is the one ``lakehouse
    status`` shows running).

    ``only`` (dataset -> layers) and ``derived`` (derived table names) run exactly those and
    nothing else (what ``lakehouse rerun --failed`` does); a derived table then runs when none
    of its inputs failed in this run. ``prepare`` runs under the run lock before the first
    layer (``lakehouse backfill`` rewinds silver's state there); what it raises ends the run.
    """
    if only is not None or derived is not None:
        only = dict(only or {})
        names = list(only)
        layers = tuple(layer for layer in LAYERS if any(layer in wanted for wanted in only.values()))
    else:
        names = list(datasets) if datasets else list(config.datasets)
    selected = [config.dataset(n) for n in names]
    if config.node is not None:  # read by load_config, so every key can be located
        preflight(config, names, layers)
    ctx = RunContext(run_id=run_id or new_run_id(), pipeline=config.name, env=config.env)
    summary = RunSummary(run_id=ctx.run_id, pipeline=config.name, env=config.env)
    log = get_logger("lakehouse.pipeline")
    from lakehouse.ledger import Ledger

    ledger = Ledger(spark, config, ctx, enabled=record)
    with run_context(ctx.run_id, config.name):
        # The lock comes first: a run that cannot take it has written no event.
        with _run_lock(spark, config, ctx, wait, summary) as handed_over:
            log.info(
                "run started", env=config.env, datasets=names, layers=list(layers), root=config.storage.root
            )
            if not handed_over:  # the run before this one may have been killed
                _mark_abandoned(ledger, summary)
            if prepare is not None:
                prepare()
            try:
                ok = _run_datasets(
                    spark, config, ctx, ledger, selected, only or dict.fromkeys(names, layers), summary
                )
                if derived is not None:
                    summary.results.extend(_run_derived(spark, config, ctx, ledger, ok, names, derived))
                elif GOLD in layers and config.derived:
                    summary.results.extend(_run_derived(spark, config, ctx, ledger, ok, names))
            finally:
                ledger.flush()  # under the lock: the next run sees every end state of this one
        failures = [r for r in summary.results if r.status == "failed"]
        if failures and summary.status != "failed":
            summary.status = "failed"
            summary.error = f"{failures[0].dataset}/{failures[0].layer}: {failures[0].error}"
        log.info("run finished", status=summary.status, error=summary.error)
    return summary


def _mark_abandoned(ledger: Ledger, summary: RunSummary) -> None:
    """Layers an earlier, killed run left ``running`` get their ``abandoned`` end state."""
    summary.abandoned = ledger.abandon_killed()
    for item in summary.abandoned:
        get_logger("lakehouse.pipeline").warning(
            "earlier run marked abandoned",
            abandoned_run=item["run_id"],
            of=f"{item['dataset']}/{item['layer']}",
        )


@contextmanager
def _run_lock(
    spark: SparkSession, config: PipelineConfig, ctx: RunContext, wait: float | None, summary: RunSummary
) -> Iterator[bool]:
    """Hold the pipeline's run lock around the run; a lease lost on the way fails the run.

    Yields whether the previous holder gave the lock back (its run ended, killed runs are
    ruled out); False without the lock.
    """
    settings = config.run_lock
    if not settings.enabled:
        yield False
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
        yield lease.handed_over
    finally:
        lost = lease.release()
        if lost:
            get_logger("lakehouse.pipeline").error("run lock lost", error=lost)
            summary.status = "failed"
            summary.error = f"{lost}; another run may have written concurrently"


def _run_datasets(
    spark: SparkSession,
    config: PipelineConfig,
    ctx: RunContext,
    ledger: Ledger,
    selected: list[DatasetConfig],
    plan: Mapping[str, Sequence[str]],
    summary: RunSummary,
) -> dict[str, bool]:
    """Each dataset's layers in order; a failed layer skips the dataset's later ones."""
    ok: dict[str, bool] = {}
    for dataset in selected:
        healthy = True
        for layer in LAYERS:
            if layer not in plan[dataset.name] or layer not in dataset.layers:
                continue
            if not healthy:
                skipped = LayerResult(dataset.name, layer, status="skipped", error="an earlier layer failed")
                ledger.finished([skipped])
                summary.results.append(skipped)
                continue
            step = partial(_layer_function(layer), spark, dataset, config, ctx)
            result = _timed(ledger, dataset.name, layer, step)
            summary.results.append(result)
            healthy = result.status in OK
        ok[dataset.name] = healthy
    return ok


def _run_derived(
    spark: SparkSession,
    config: PipelineConfig,
    ctx: RunContext,
    ledger: Ledger,
    ok: dict[str, bool],
    selected: list[str],
    only: Sequence[str] | None = None,
) -> list[LayerResult]:
    from lakehouse.gold.derived import publish_derived

    out: list[LayerResult] = []
    for spec in config.derived:
        if only is not None and spec.name not in only:
            continue
        if only is None and not all(dep in selected for dep in spec.inputs):
            continue  # a run of some datasets only leaves derived tables of others alone
        if not all(ok.get(dep, True) for dep in spec.inputs):
            skipped = LayerResult(
                spec.name, GOLD, status="skipped", error="an input dataset failed in this run"
            )
            ledger.finished([skipped])
            out.append(skipped)
            continue
        step = partial(publish_derived, spark, spec, config, ctx)
        out.append(_timed(ledger, spec.name, GOLD, step))
    return out
