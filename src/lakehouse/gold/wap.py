"""Write-audit-publish of one staged batch to a gold table.

1. stage: apply the cleansing steps and mark each row's failed ``drop`` rules (plan only);
2. audit: evaluate every expectation on the staged rows (with the tables ``references`` rules
   point at) and append the results to the metrics table; a tripped rule raises
   :class:`QualityError` before the gold table is touched;
3. publish: check merge keys, write with the table's mode, quarantine the dropped rows.

The staged rows are cached for these actions where the session allows
(:func:`lakehouse.io.cache.kept`), so the range is read and its transforms (a ``dedupe``
window, say) computed once, not once per action.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession

from lakehouse.config.expectations import Expectation
from lakehouse.config.gold import GoldSpec
from lakehouse.errors import ConservationError, PublishError, QualityError
from lakehouse.gold import cdc, writers
from lakehouse.io import delta
from lakehouse.io.cache import kept
from lakehouse.io.delta import Txn
from lakehouse.io.increments import commits_since
from lakehouse.io.metrics import write_metrics
from lakehouse.quality.evaluate import evaluate
from lakehouse.quality.rules import drop_rules
from lakehouse.results import BatchOutcome, RuleResult, RunContext
from lakehouse.transforms import quarantine
from lakehouse.transforms.cdc import BUCKETS
from lakehouse.transforms.steps import apply_steps, unique_on


@dataclass(frozen=True)
class Target:
    """Where one gold table and its side tables live."""

    dataset: str
    path: str
    metrics_path: str
    quarantine_path: str
    resolve: Callable[[str], str]  # a gold table name -> its path (``references`` rules)
    tombstones_path: str | None = None  # a change feed's remembered deletes

    def tables(self) -> tuple[str, ...]:
        """The tables a batch may write (their versions before it make a replay exact)."""
        extra = (self.tombstones_path,) if self.tombstones_path else ()
        return (self.path, self.quarantine_path, *extra)


def read_references(
    spark: SparkSession, expectations: Sequence[Expectation], resolve: Callable[[str], str]
) -> dict[str, DataFrame]:
    """The table each ``references`` rule checks against, by rule name (``path`` or gold ``table``)."""
    return {
        e.name: delta.read_table(spark, e.params.get("path") or resolve(str(e.params["table"])))
        for e in expectations
        if e.kind == "references"
    }


def _quality_error(target: Target, results: list[RuleResult], outcome: BatchOutcome) -> QualityError:
    first = next(r for r in results if r.tripped)
    others = [r.rule for r in results if r.tripped and r is not first]
    return QualityError(
        f"gold {target.dataset}: expectation {first.rule!r} ({first.kind}, action {first.action}) "
        f"failed: {first.rows_failed} of {first.rows_checked} rows failed, threshold "
        f"{first.threshold if first.threshold is not None else 0.0}, observed {first.observed}, "
        f"sample keys {first.sample_keys}"
        + (f"; also failed: {others}" if others else "")
        + "; the gold table was left unchanged",
        rule=first.rule,
        rows_failed=first.rows_failed,
        threshold=first.threshold,
        sample_keys=first.sample_keys,
        outcome=outcome,
    )


def _write_changes(
    spark: SparkSession,
    df: DataFrame,
    spec: GoldSpec,
    target: Target,
    ctx: RunContext,
    txn: Txn,
    before: dict[str, int | None],
) -> dict[str, int]:
    if target.tombstones_path is None:
        raise PublishError(f"gold {target.dataset}: a change feed needs a tombstone table")
    tables = cdc.Tables(
        target.path, target.tombstones_path, before.get(target.path), before.get(target.tombstones_path)
    )
    return cdc.publish_changes(spark, df, spec, tables, ctx.started_at, txn=txn).buckets


def _write(
    spark: SparkSession,
    df: DataFrame,
    spec: GoldSpec,
    target: Target,
    txn: Txn,
    where: str | None = None,
) -> bool:
    if spec.mode == "merge":
        if not unique_on(spec.transforms, spec.keys):  # a dedupe on the keys leaves none to find
            writers.check_unique_keys(df, spec.keys, target=target.path)
        return writers.merge_scd1(spark, df, target.path, spec.keys, spec.partition_by, txn)
    if spec.mode == "scd2":
        scd2 = spec.scd2
        eff = (scd2.effective_from if scd2 else None) or "_ingested_at"
        if not unique_on(spec.transforms, [*spec.keys, eff]):
            writers.check_unique_keys(df, [*spec.keys, eff], target=target.path)
        return writers.merge_scd2(
            spark, df, target.path, spec.keys, eff, scd2.track if scd2 else None, spec.partition_by, txn
        )
    if spec.mode == "append":
        return writers.append(spark, df, target.path, spec.partition_by, txn)
    return writers.overwrite_partitions(spark, df, target.path, spec.partition_by, where, txn)


def _staged_rows(results: list[RuleResult], staged: DataFrame) -> int:
    # The one-pass aggregate of the expectations counted the staged rows already.
    return results[0].rows_checked if results else staged.count()


def publish_batch(
    spark: SparkSession,
    batch: DataFrame,
    spec: GoldSpec,
    target: Target,
    ctx: RunContext,
    rows_read: int | None = None,
    *,
    txn: Txn = None,
    before: dict[str, int | None] | None = None,
    add_columns: bool = False,
    replace_where: str | None = None,
) -> BatchOutcome:
    """Stage, audit and publish one batch; raise QualityError (gold untouched) on a tripped rule.

    ``rows_read`` is the batch's size when the caller knows it (from the input's commits);
    otherwise it is counted (only when transforms can change the row count). ``txn`` makes
    the append and quarantine writes idempotent; ``before`` holds the tables' versions before
    the batch (its commits are the ones after, replay included); ``add_columns`` adds the
    batch's columns the gold table lacks (``on_new_columns: evolve``); ``replace_where`` (mode
    ``overwrite_partitions``) replaces the partitions it selects instead of those present in
    the batch. Counts come from the expectations' one aggregate and from the commits.
    """
    before = before if before is not None else {t: delta.table_version(spark, t) for t in target.tables()}
    staged = apply_steps(batch, spec.transforms).withColumn(quarantine.DROP_RULES, drop_rules(spec.audited))
    with kept(staged, f"gold {target.dataset}"):
        return _audit_and_publish(
            spark, batch, staged, spec, target, ctx, rows_read, txn, before, add_columns, replace_where
        )


def _audit_and_publish(
    spark: SparkSession,
    batch: DataFrame,
    staged: DataFrame,
    spec: GoldSpec,
    target: Target,
    ctx: RunContext,
    rows_read: int | None,
    txn: Txn,
    before: dict[str, int | None],
    add_columns: bool,
    replace_where: str | None,
) -> BatchOutcome:
    references = read_references(spark, spec.audited, target.resolve)
    results = evaluate(
        staged.drop(quarantine.DROP_RULES), spec.audited, keys=spec.keys, references=references
    )
    rows_staged = _staged_rows(results, staged)
    if rows_read is None:  # without transforms the staged rows are the batch's rows
        rows_read = batch.count() if spec.transforms else rows_staged
    read = rows_read
    write_metrics(spark, results, target.metrics_path, ctx, target.dataset, target.path)
    outcome = BatchOutcome(read, rows_staged, read - rows_staged, 0, results)
    if spec.cdc is not None:
        outcome.cdc = dict.fromkeys(BUCKETS, 0)
    if any(r.tripped for r in results):
        raise _quality_error(target, results, outcome)
    kept, dropped = quarantine.split_gold(staged)
    n_dropped = 0
    if any(r.rows_failed for r in results if r.action == "drop"):
        rows = quarantine.gold_rows(dropped, ctx.run_id)
        done = commits_since(spark, target.quarantine_path, before.get(target.quarantine_path))
        if not done:
            delta.append(spark, rows, target.quarantine_path, merge_schema=True, txn=txn)
            done = commits_since(spark, target.quarantine_path, before.get(target.quarantine_path))
        n_dropped = delta.metrics_of(done, "numOutputRows")
        outcome.rows_dropped += n_dropped
    if rows_staged - n_dropped > 0 or replace_where is not None:  # a replace may empty partitions
        if add_columns:  # the contract evolves: silver's new columns become gold's
            delta.add_missing_columns(spark, target.path, kept)
        if spec.cdc is not None:
            outcome.cdc = _write_changes(spark, kept, spec, target, ctx, txn, before)
        else:
            _write(spark, kept, spec, target, txn, replace_where)
        written = commits_since(spark, target.path, before.get(target.path))
        outcome.rows_written = sum(c.rows_written for c in written)
        if spec.cdc is None and spec.mode != "scd2":
            _check_taken(target, written, rows_staged - n_dropped)
    return outcome


def _check_taken(target: Target, written: list[delta.Commit], kept: int) -> None:
    """Conservation: the rows the write took (a MERGE's ``numSourceRows``, an append's or
    overwrite's ``numOutputRows``) must be the rows staged less the rows dropped.

    SCD2 merges the changes only (unchanged rows are not in its source) and a change feed
    counts its own buckets: both are left to their own counts.
    """
    taken = sum(int(c.metrics.get("numSourceRows", c.metrics.get("numOutputRows", 0))) for c in written)
    if written and taken != kept:
        raise ConservationError(
            f"gold {target.dataset}: {kept} rows were staged and not dropped, but the write to "
            f"{target.path} took {taken}: {abs(kept - taken)} row(s) "
            + ("lost on the way" if taken < kept else "more than staged")
        )
