"""What a run reports: per dataset and layer, rows read / written / quarantined / dropped.

Plain data classes (floor 0, beside the errors that carry a partial :class:`LayerResult`):
the run's identity, each layer's result, the run summary, and the outcome of each data-quality
expectation on a gold batch; and :func:`working`, by which a layer tells the run it found
work (the pipeline records it ``running`` then).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

SAMPLE_KEYS = 5


_ON_WORK: ContextVar[Callable[[], None] | None] = ContextVar("lakehouse_on_work", default=None)


@contextmanager
def on_work(callback: Callable[[], None]) -> Iterator[None]:
    """Call ``callback`` (once) when the layer run inside this block reports :func:`working`."""
    called = False

    def once() -> None:
        nonlocal called
        if not called:
            called = True
            callback()

    token = _ON_WORK.set(once)
    try:
        yield
    finally:
        _ON_WORK.reset(token)


def working() -> None:
    """A layer found something to do: it reads and writes from now on.

    The pipeline records the layer ``running`` in the ledger at this point, so a layer with
    nothing new to read costs no ledger event besides its end state. Outside a run: no-op.
    """
    callback = _ON_WORK.get()
    if callback is not None:
        callback()


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
    started_at: datetime | None = None
    finished_at: datetime | None = None

    @property
    def duration_s(self) -> float | None:
        """Seconds from the layer's start to its end (None while it runs or when it did not run)."""
        if self.started_at is None or self.finished_at is None:
            return None
        return round((self.finished_at - self.started_at).total_seconds(), 3)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("started_at", "finished_at"):
            out[key] = out[key].isoformat() if out[key] is not None else None
        out["duration_s"] = self.duration_s
        return out


@dataclass
class RunSummary:
    """Everything a run did; ``to_dict`` is the ``--json`` output and the notebook exit value."""

    run_id: str
    pipeline: str
    env: str | None
    status: str = "succeeded"
    results: list[LayerResult] = field(default_factory=list)
    error: str | None = None
    abandoned: list[dict[str, Any]] = field(default_factory=list)
    """Layers of earlier runs this run found killed and marked ``abandoned`` in the ledger."""

    @property
    def warnings(self) -> list[str]:
        """What succeeded but needs a look: bad files set aside, failed ``warn`` expectations."""
        return [f"{r.dataset}/{r.layer}: {w}" for r in self.results for w in r.details.get("warnings", [])]

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
            "warnings": self.warnings,
            "abandoned": [
                {k: str(v) if isinstance(v, datetime) else v for k, v in a.items()} for a in self.abandoned
            ],
        }


@dataclass
class RuleResult:
    """The outcome of one expectation on one batch.

    ``passed`` is ``rows_failed / rows_checked <= threshold`` for rules counted per row, or
    the rule's own test for row_count, freshness, null_ratio and aggregate rules.
    """

    rule: str
    kind: str
    action: str
    rows_checked: int
    rows_failed: int
    passed: bool
    threshold: float | None = None
    sample_keys: list[str] = field(default_factory=list)
    observed: str | None = None
    tripped: bool = False  # this rule stops the run (set by the evaluation)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the run summary's ``details.rules`` entries)."""
        return asdict(self)


def combine(old: RuleResult | None, new: RuleResult) -> RuleResult:
    """Sum two batches' results of the same rule (several micro-batches in one run)."""
    if old is None:
        return new
    return RuleResult(
        rule=new.rule,
        kind=new.kind,
        action=new.action,
        rows_checked=old.rows_checked + new.rows_checked,
        rows_failed=old.rows_failed + new.rows_failed,
        passed=old.passed and new.passed,
        threshold=new.threshold,
        tripped=old.tripped or new.tripped,
        sample_keys=(old.sample_keys + new.sample_keys)[:SAMPLE_KEYS],
        observed=new.observed or old.observed,
    )


@dataclass
class BatchOutcome:
    """Counts of one gold batch: read, staged (after cleansing), dropped, written; rule results."""

    rows_read: int
    rows_staged: int
    rows_dropped: int
    rows_written: int
    results: list[RuleResult]
    cdc: dict[str, int] | None = None  # a change feed's rows per bucket (inserted, ..., no_op)
