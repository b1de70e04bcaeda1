"""How each variant is launched on a workspace: job name, parameters, tables to count."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.runner import PIPELINE
from benchmarks.workspace import Workspace

LIBRARY, PLAIN, HAND = "library", "plain_load", "handwritten"
PIPELINE_TABLES = (
    ("bronze", "usage"),
    ("bronze", "device_config"),
    ("silver", "usage"),
    ("silver", "usage_quarantine"),
    ("silver", "device_config"),
    ("silver", "device_config_quarantine"),
    ("gold", "usage"),
    ("gold", "device_config_history"),
    ("gold", "daily_device_usage"),
)
USAGE_TRACK = ["app", "cpu_pct", "mem_mb", "battery_pct", "network"]
SCD2_GOLD = {
    "table": "usage_scd2",
    "mode": "scd2",
    "keys": ["device_id", "event_ts"],
    "scd2": {"track": USAGE_TRACK},
}


@dataclass
class Launch:
    """Arguments of ``Runner.measure`` for one job."""

    job: str
    params: dict[str, Any]
    tables: dict[str, Path] = field(default_factory=dict)
    rows_from: tuple[str, ...] = ()

    def as_step(self) -> dict[str, Any]:
        return {"job": self.job, "params": self.params}


def pipeline_tables(ws: Workspace, names: tuple[tuple[str, str], ...] = PIPELINE_TABLES) -> dict[str, Path]:
    return {f"{layer}/{name}": ws.table(layer, name) for layer, name in names}


def library(
    ws: Workspace,
    *,
    datasets: list[str] | None = None,
    layers: list[str] | None = None,
    usage: dict[str, Any] | None = None,
) -> Launch:
    """The sample pipeline on ``ws`` (``usage``: overrides of the usage dataset's config)."""
    overrides: dict[str, Any] = {"storage": {"root": str(ws.lake), "landing": str(ws.landing)}}
    if usage:
        overrides["datasets"] = {"usage": usage}
    params = {
        "pipeline": str(PIPELINE),
        "env": "local",
        "overrides": overrides,
        "datasets": datasets,
        "layers": layers,
    }
    return Launch("library", params, pipeline_tables(ws), ("bronze/usage", "bronze/device_config"))


def handwritten(
    ws: Workspace,
    *,
    datasets: list[str] | None = None,
    steps: list[str] | None = None,
    usage_gold: dict[str, str] | None = None,
) -> Launch:
    params: dict[str, Any] = {
        "root": str(ws.lake),
        "landing": str(ws.landing),
        "datasets": datasets,
        "steps": steps,
    }
    if usage_gold:
        params["usage_gold"] = usage_gold
    if datasets and set(datasets) != {"usage", "device_config"}:
        params["derived"] = False
    return Launch("handwritten", params, pipeline_tables(ws), ("bronze/usage", "bronze/device_config"))


def plain_load(ws: Workspace) -> Launch:
    table = ws.table("plain", "usage")
    return Launch(
        "plain_load",
        {"landing": str(ws.landing), "table": str(table)},
        {"plain/usage": table},
        ("plain/usage",),
    )


def variant(name: str, ws: Workspace, **kwargs: Any) -> Launch:
    if name == LIBRARY:
        return library(ws, **kwargs)
    if name == HAND:
        return handwritten(ws, **kwargs)
    return plain_load(ws)


def rotate(items: list[str], by: int) -> list[str]:
    """Interleave: each repetition starts with the next variant."""
    by %= len(items)
    return items[by:] + items[:by]
