"""What a run reports: per dataset and layer, rows read / written / quarantined / dropped."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any


def new_run_id() -> str:
    """A sortable, unique run id: UTC time plus a random suffix."""
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:8]


@dataclass(frozen=True)
class RunContext:
    """Identity of one pipeline run, handed to every layer."""

    run_id: str
    pipeline: str
    env: str | None = None
    started_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))


@dataclass
class LayerResult:
    """Outcome of one layer for one dataset (or one derived gold table) in a run."""

    dataset: str
    layer: str
    status: str = "succeeded"
    rows_read: int = 0
    rows_written: int = 0
    rows_quarantined: int = 0
    rows_dropped: int = 0
    table_version: int | None = None
    files: int | None = None
    error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RunSummary:
    """Everything a run did; ``to_dict`` is the ``--json`` output and the notebook exit value."""

    run_id: str
    pipeline: str
    env: str | None
    status: str = "succeeded"
    results: list[LayerResult] = field(default_factory=list)
    error: str | None = None

    def result(self, dataset: str, layer: str) -> LayerResult | None:
        for item in self.results:
            if item.dataset == dataset and item.layer == layer:
                return item
        return None

    def to_dict(self) -> dict[str, Any]:
        datasets: dict[str, dict[str, Any]] = {}
        for item in self.results:
            entry = {k: v for k, v in item.to_dict().items() if k not in ("dataset", "layer")}
            datasets.setdefault(item.dataset, {})[item.layer] = entry
        return {
            "run_id": self.run_id,
            "pipeline": self.pipeline,
            "env": self.env,
            "status": self.status,
            "error": self.error,
            "datasets": datasets,
        }
