"""One silver increment: route, write both tables, count from the commits, apply the rate policy.

The rows are routed by :func:`lakehouse.silver.route.route` (pure). Write-audit-publish with
the numbers taken from what was committed, not from extra Spark jobs:

1. the quarantine rows are appended first; the commit's ``numOutputRows`` is ``bad``;
2. ``good`` = rows read (from the input commits) - ``bad``; when ``bad / read`` is above
   ``max_quarantine_rate`` silver is not written and the range stays planned, so the next run
   replays it (its quarantine append is then skipped by Delta as already applied);
3. the silver rows are appended; the reasons are one aggregate over the quarantine rows of
   this commit (read back through the change feed: only the bad rows, usually few);
4. conservation: the silver commit's ``numOutputRows`` must be ``good``: rows read = rows
   written + rows quarantined, each number from a different commit. A row lost (or made up)
   between reading and writing fails the layer with :class:`ConservationError` and the
   numbers, and the range stays planned.

Both appends carry ``txnAppId``/``txnVersion`` (the state's id and the range's end). The checked
rows are cached for the two appends where the session allows it, so bronze is read, conformed
and checked once (serverless compute refuses caches: there each append computes them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pyspark.sql import functions as F  # noqa: N812

from lakehouse.constants import RESCUED_DATA
from lakehouse.errors import ConservationError, ContractError
from lakehouse.io import delta
from lakehouse.io.cache import kept
from lakehouse.io.increments import Increment, commits_since
from lakehouse.silver.checks import extra_fields
from lakehouse.silver.drift import evolved
from lakehouse.silver.route import Routed, route
from lakehouse.transforms.quarantine import REASONS

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from lakehouse.config.model import DatasetConfig


@dataclass
class Totals:
    """Counts of one run."""

    read: int = 0
    written: int = 0
    quarantined: int = 0
    held_back: int = 0
    skipped_writes: int = 0
    batches: int = 0
    extra_fields_kept: int = 0
    reasons: dict[tuple[str, str], int] = field(default_factory=dict)

    def top_reasons(self, n: int | None = 3) -> list[dict[str, object]]:
        """Reason counts by rule and column, most frequent first (all when ``n`` is None)."""
        ranked = sorted(self.reasons.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
        return [{"rule": r, "column": c, "count": k} for (r, c), k in ranked]


@dataclass(frozen=True)
class BatchPlan:
    """What an increment needs besides its rows."""

    dataset: DatasetConfig
    run_id: str
    salt: str | None
    app_id: str
    drift: dict[str, dict[str, list[str]]] = field(default_factory=dict)


def _append(
    spark: SparkSession, df: DataFrame, table: str, plan: BatchPlan, inc: Increment, totals: Totals
) -> list[delta.Commit]:
    """Append idempotently; the commits this range made to ``table`` (none if it had no rows)."""
    before = inc.before.get(table)
    done = commits_since(spark, table, before)
    if not done:
        merge = True if evolved(plan.drift, plan.dataset.contract) else None  # type: ignore[arg-type]
        delta.append(spark, df, table, txn=(plan.app_id, inc.end), change_feed=True, merge_schema=merge)
        done = commits_since(spark, table, before)
    else:  # a replay: Delta would skip this txnVersion anyway
        totals.skipped_writes += 1
    return done


def _reasons(spark: SparkSession, table: str, commits: list[delta.Commit]) -> dict[tuple[str, str], int]:
    """Reason counts of the quarantine rows the commits appended: one aggregate."""
    if not commits:
        return {}
    low, high = min(c.version for c in commits), max(c.version for c in commits)
    rows = delta.read_inserts(spark, table, low, high).select(F.explode(REASONS).alias("r"))
    counted = rows.groupBy("r.rule", "r.column").count().collect()
    return {(r["rule"], r["column"]): int(r["count"]) for r in counted}


def _too_many(plan: BatchPlan, read: int, bad: int, reasons: Totals) -> ContractError:
    contract = plan.dataset.contract
    assert contract is not None and contract.max_quarantine_rate is not None
    top = ", ".join(f"{r['rule']} on {r['column']} ({r['count']})" for r in reasons.top_reasons())
    return ContractError(
        f"dataset {plan.dataset.name!r}: quarantine rate {bad / read:.2%} ({bad} of {read} rows) "
        f"exceeds max_quarantine_rate {contract.max_quarantine_rate:.2%}; silver was not written, "
        f"the quarantine was ({plan.dataset.quarantine_path}); top reasons: {top}"
    )


def _lost(plan: BatchPlan, inc: Increment, read: int, written: int, bad: int) -> ConservationError:
    missing = read - written - bad
    what = f"{missing} row(s) unaccounted for" if missing > 0 else f"{-missing} row(s) more than it read"
    return ConservationError(
        f"dataset {plan.dataset.name!r}: silver read {read} rows from bronze versions {inc.start}..{inc.end} "
        f"and wrote {written} to silver and {bad} to the quarantine: {what}; the range stays planned "
        f"(the next run stops here again): fix the cause, then `lakehouse backfill --dataset "
        f"{plan.dataset.name} --from-version {inc.start}` reads it again"
    )


def run_increment(
    spark: SparkSession, bronze: DataFrame, read: int, inc: Increment, plan: BatchPlan, totals: Totals
) -> None:
    """Route and write one planned range; raise ContractError (range left planned) on a failed audit."""
    contract = plan.dataset.contract
    assert contract is not None
    if not read:  # versions without new rows (table properties, compaction): nothing to write
        return
    routed = route(bronze, contract, run_id=plan.run_id, salt=plan.salt, drift=plan.drift)
    # Bronze read, conformed and checked once for both appends, not once per table.
    with kept(routed.checked, f"silver {plan.dataset.name}"):
        _write_routed(spark, routed, read, inc, plan, totals)


def _write_routed(
    spark: SparkSession, routed: Routed, read: int, inc: Increment, plan: BatchPlan, totals: Totals
) -> None:
    contract = plan.dataset.contract
    assert contract is not None
    ds = plan.dataset
    if contract.on_extra_fields == "ignore":  # kept in silver, counted: one aggregate
        kept = extra_fields(F.col(RESCUED_DATA)) & (F.size(REASONS) == 0)
        totals.extra_fields_kept += routed.checked.where(kept).count()
    totals.batches += 1
    totals.read += read
    quarantined = _append(spark, routed.rejected, ds.quarantine_path, plan, inc, totals)
    bad = delta.metrics_of(quarantined, "numOutputRows")
    totals.quarantined += bad
    if bad:
        for key, n in _reasons(spark, ds.quarantine_path, quarantined).items():
            totals.reasons[key] = totals.reasons.get(key, 0) + n
    good = read - bad
    limit = contract.max_quarantine_rate
    if limit is not None and read and bad / read > limit:
        totals.held_back += good
        raise _too_many(plan, read, bad, totals)
    written_rows = 0
    if good or inc.before.get(ds.silver_path) is None:  # the first range creates the table
        written = _append(spark, routed.valid, ds.silver_path, plan, inc, totals)
        written_rows = delta.metrics_of(written, "numOutputRows")
        totals.written += written_rows
    if written_rows != good:
        raise _lost(plan, inc, read, written_rows, bad)
