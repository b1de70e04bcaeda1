"""The library side of a benchmark: run the pipeline through its public API, time each layer.

Per-layer seconds come from the library's own ``layer started`` / ``layer finished`` log
events (captured by a structlog processor added here, as any host application may), so
the pipeline runs exactly as a user calls it: one ``run_pipeline`` over the selected
datasets and layers.
"""

from __future__ import annotations

import time
from collections.abc import MutableMapping
from typing import Any

LAYERS = ("bronze", "silver", "gold")


def _api() -> tuple[Any, Any]:
    """``load_config`` and ``run_pipeline``: the package's top-level API where it has one."""
    import lakehouse

    if hasattr(lakehouse, "run_pipeline") and hasattr(lakehouse, "load_config"):
        return lakehouse.load_config, lakehouse.run_pipeline
    from lakehouse.config import load_config
    from lakehouse.pipeline import run_pipeline

    return load_config, run_pipeline


class LayerClock:
    """A structlog processor noting when each layer of the run starts and finishes."""

    WATCHED = ("run started", "layer started", "layer finished", "run finished")

    def __init__(self) -> None:
        self.events: list[tuple[float, str, str | None, str | None]] = []

    def __call__(self, _: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        if event.get("event") in self.WATCHED:
            self.events.append(
                (time.perf_counter(), event["event"], event.get("dataset"), event.get("layer"))
            )
        return event

    def install(self) -> list[Any]:
        """Add this processor to structlog's chain; return the chain to restore afterwards."""
        import structlog

        try:  # today the library configures structlog itself on first use: let it, then add to it
            from lakehouse.log import configure_logging

            configure_logging()
        except ImportError:
            pass
        previous = list(structlog.get_config()["processors"])
        processors = list(previous)
        merge = structlog.contextvars.merge_contextvars
        if merge not in processors:
            processors.insert(0, merge)
        processors.insert(processors.index(merge) + 1, self)
        structlog.configure(processors=processors)
        return previous

    def steps(self, start: float, end: float) -> dict[str, float]:
        """Seconds per ``dataset/layer``, plus the time outside layers (derived tables, ledger)."""
        steps: dict[str, float] = {}
        opened: dict[tuple[str | None, str | None], float] = {}
        for t, name, dataset, layer in self.events:
            if name == "layer started":
                opened[(dataset, layer)] = t
            elif name == "layer finished" and (dataset, layer) in opened:
                steps[f"{dataset}/{layer}"] = t - opened.pop((dataset, layer))
        if steps:
            steps["outside layers"] = (end - start) - sum(steps.values())
        return steps


def run(spark: Any, params: dict[str, Any]) -> dict[str, Any]:
    """Run the pipeline once (``params``: pipeline, env, overrides, datasets, layers)."""
    load_config, run_pipeline = _api()
    import structlog

    clock = LayerClock()
    previous = clock.install()
    try:
        start = time.perf_counter()
        config = load_config(
            params["pipeline"], env=params.get("env", "local"), overrides=params["overrides"]
        )
        layers = params.get("layers") or LAYERS
        summary = run_pipeline(spark, config, datasets=params.get("datasets"), layers=layers)
        end = time.perf_counter()
    finally:
        structlog.configure(processors=previous)
    results = {
        f"{r.dataset}/{r.layer}": {
            "status": r.status,
            "rows_read": r.rows_read,
            "rows_written": r.rows_written,
            "rows_quarantined": r.rows_quarantined,
            "rows_dropped": r.rows_dropped,
        }
        for r in summary.results
    }
    return {
        "status": summary.status,
        "error": summary.error,
        "results": results,
        "steps": clock.steps(start, end),
    }
