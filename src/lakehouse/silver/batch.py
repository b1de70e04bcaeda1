"""One micro-batch of silver: route, count, apply the quarantine-rate policy, write both tables.

The rows are routed by :func:`lakehouse.silver.route.route` (pure). Writes carry Delta's
idempotent-writer options ``txnAppId``/``txnVersion`` (the streaming query id and the batch
id), so a batch replayed after a crash or a failed audit never appends twice.
Write-audit-publish: the quarantine is written first; when the batch's quarantine rate is
above ``max_quarantine_rate`` silver is not written and the batch fails, so the stream does
not commit it and the next run replays it in full (its quarantine write is then skipped by
Delta as already applied).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F  # noqa: N812

from lakehouse.errors import ContractError
from lakehouse.io import delta
from lakehouse.silver.route import route
from lakehouse.transforms.quarantine import REASONS

if TYPE_CHECKING:
    from lakehouse.config.model import DatasetConfig


@dataclass
class Totals:
    """Counts over the batches of one run."""

    read: int = 0
    written: int = 0
    quarantined: int = 0
    held_back: int = 0
    skipped_writes: int = 0
    batches: int = 0
    reasons: dict[tuple[str, str], int] = field(default_factory=dict)
    error: ContractError | None = None

    def top_reasons(self, n: int | None = 3) -> list[dict[str, object]]:
        """Reason counts by rule and column, most frequent first (all when ``n`` is None)."""
        ranked = sorted(self.reasons.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
        return [{"rule": r, "column": c, "count": k} for (r, c), k in ranked]


@dataclass(frozen=True)
class BatchPlan:
    """What a batch needs besides its rows."""

    dataset: DatasetConfig
    run_id: str
    salt: str | None
    app_id: str


def _append(spark: SparkSession, df: DataFrame, path: str, plan: BatchPlan, batch_id: int) -> bool:
    """Append idempotently; False when Delta skipped it (this batch reached the table before)."""
    before = delta.table_version(spark, path)
    delta.append(spark, df, path, txn=(plan.app_id, batch_id))
    return delta.table_version(spark, path) != before


def _count(checked: DataFrame) -> tuple[int, int, dict[tuple[str, str], int]]:
    rows = checked.groupBy((F.size(REASONS) > 0).alias("bad")).count().collect()
    by_flag = {r["bad"]: r["count"] for r in rows}
    reasons: dict[tuple[str, str], int] = {}
    if by_flag.get(True):
        exploded = checked.filter(F.size(REASONS) > 0).select(F.explode(REASONS).alias("r"))
        for r in exploded.groupBy("r.rule", "r.column").count().collect():
            reasons[(r["rule"], r["column"])] = r["count"]
    return by_flag.get(False, 0), by_flag.get(True, 0), reasons


def _too_many(plan: BatchPlan, read: int, bad: int, batch_reasons: Totals) -> ContractError:
    contract = plan.dataset.contract
    assert contract is not None and contract.max_quarantine_rate is not None
    top = ", ".join(f"{r['rule']} on {r['column']} ({r['count']})" for r in batch_reasons.top_reasons())
    return ContractError(
        f"dataset {plan.dataset.name!r}: quarantine rate {bad / read:.2%} ({bad} of {read} rows) "
        f"exceeds max_quarantine_rate {contract.max_quarantine_rate:.2%}; silver was not written, "
        f"the quarantine was ({plan.dataset.quarantine_path}); top reasons: {top}"
    )


def run_batch(spark: SparkSession, bronze: DataFrame, batch_id: int, plan: BatchPlan, totals: Totals) -> None:
    """Process one micro-batch; on a failed audit record the error in ``totals`` and raise it."""
    contract = plan.dataset.contract
    assert contract is not None
    routed = route(bronze, contract, run_id=plan.run_id, salt=plan.salt)
    checked = routed.checked.persist()  # counted, then read again by both writes
    try:
        good, bad, reasons = _count(checked)
        read = good + bad
        totals.batches += 1
        totals.read += read
        for key, n in reasons.items():
            totals.reasons[key] = totals.reasons.get(key, 0) + n
        if bad:
            if not _append(spark, routed.rejected, plan.dataset.quarantine_path, plan, batch_id):
                totals.skipped_writes += 1
            totals.quarantined += bad
        limit = contract.max_quarantine_rate
        if limit is not None and read and bad / read > limit:
            totals.held_back += good
            totals.error = _too_many(plan, read, bad, Totals(reasons=reasons))
            raise totals.error
        # An empty first batch still creates the silver table (with its schema).
        wanted = good or delta.table_version(spark, plan.dataset.silver_path) is None
        if wanted and not _append(spark, routed.valid, plan.dataset.silver_path, plan, batch_id):
            totals.skipped_writes += 1
        totals.written += good
    finally:
        checked.unpersist()
