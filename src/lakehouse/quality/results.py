"""Expectation results and the Delta metrics table they are appended to."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from lakehouse.results import RunContext

METRICS_SCHEMA = (
    "run_id string, pipeline string, dataset string, target string, rule string, kind string, "
    "action string, rows_checked long, rows_failed long, threshold double, passed boolean, "
    "sample_keys array<string>, observed string, evaluated_at timestamp"
)


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
    tripped: bool = False  # this rule stops the run (set by ``evaluate``)

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
        sample_keys=(old.sample_keys + new.sample_keys)[:5],
        observed=new.observed or old.observed,
    )


def write_metrics(
    spark: SparkSession, results: Sequence[RuleResult], path: str, ctx: RunContext, dataset: str, target: str
) -> None:
    """Append one row per rule to the Delta metrics table at ``path``."""
    if not results:
        return
    now = datetime.now(timezone.utc)
    rows = [
        (
            ctx.run_id,
            ctx.pipeline,
            dataset,
            target,
            r.rule,
            r.kind,
            r.action,
            r.rows_checked,
            r.rows_failed,
            r.threshold,
            r.passed,
            list(r.sample_keys),
            r.observed,
            now,
        )
        for r in results
    ]
    spark.createDataFrame(rows, METRICS_SCHEMA).write.format("delta").mode("append").save(path)
