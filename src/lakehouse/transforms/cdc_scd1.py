"""SCD1 from a change feed: gold keeps the latest state of each key (pure, no actions).

The key's timeline is gold's newest event for it (its row, a remembered delete or a table
truncate) followed by the batch's changes that are newer. Applied in sequence order, the last
event is what gold gets: an upsert writes the row (values filled from before it with
``ignore_null_updates``), a delete removes it (or sets ``_deleted_at``). A truncate deletes
every row older than it, in the batch's keys and in the rest of the table.
"""

from __future__ import annotations

from datetime import datetime

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F  # noqa: N812

from lakehouse.transforms.cdc import (
    _KIND,
    _ORIGIN,
    _RANK,
    _RN,
    _TIE,
    ACTION,
    BUCKET,
    DELETE,
    DELETED_AT,
    GOLD,
    KIND,
    NEW,
    OP,
    TRUNCATE,
    UPSERT,
    CdcPlan,
    Roles,
    coalesce_nulls,
    col,
    deleted_at,
    effect,
    event,
    new_events,
    seq_struct,
    tombstone_rows,
    touched,
    with_previous,
)

_MAX, _HAS_ROW, _ROW, _KEEP, _T, _LAST = (
    "_lh_gold_max",
    "_lh_has_row",
    "_lh_row",
    "_lh_keep",
    "_lh_truncate_at",
    "_lh_last",
)


def _gold_events(
    current: DataFrame | None, tombstones: DataFrame | None, keys: DataFrame, r: Roles, soft: bool
) -> list[DataFrame]:
    """Gold's events for the batch's keys: the row, remembered deletes, table truncates."""
    out = []
    on = list(r.keys)
    if current is not None:
        kind = F.when(col(DELETED_AT).isNotNull(), F.lit(DELETE)) if soft else F.lit(None)
        cur = current.join(keys, on, "left_semi")
        out.append(event(cur, r, F.coalesce(kind, F.lit(UPSERT)), GOLD, 0, "a", extra={_ROW: F.lit(1)}))
    if tombstones is not None:
        dels = tombstones.where(col(KIND) == DELETE).join(keys, on, "left_semi")
        out.append(event(dels, r, F.lit(DELETE), GOLD, 0, "b"))
        marks = tombstones.where(col(KIND) == TRUNCATE).select(*[col(c) for c in r.sequence])
        out.append(event(marks.crossJoin(keys), r, F.lit(DELETE), GOLD, 0, "c"))
    return out


def _truncates(changes: DataFrame, tombstones: DataFrame | None, r: Roles) -> DataFrame:
    """The batch's truncates with their bucket: duplicate or stale against the remembered ones."""
    rows = changes.where(col(OP) == TRUNCATE).select(
        *[col(c) for c in r.sequence],
        F.lit(1).alias(_RANK),
        F.sha2(F.to_json(F.struct(*[col(c) for c in changes.columns])), 256).alias(_TIE),
    )
    if tombstones is not None:
        marks = tombstones.where(col(KIND) == TRUNCATE).select(
            *[col(c) for c in r.sequence], F.lit(0).alias(_RANK), F.lit("").alias(_TIE)
        )
        latest = marks.agg(F.max(seq_struct(r)).alias(_MAX))
        rows = rows.unionByName(marks).crossJoin(latest)
    else:
        rows = rows.withColumn(_MAX, F.lit(None))
    same = Window.partitionBy(*[col(c) for c in r.sequence]).orderBy(_RANK, _TIE)
    bucket = (
        F.when(F.row_number().over(same) > 1, F.lit("duplicate"))
        .when(col(_MAX).isNotNull() & (seq_struct(r) < col(_MAX)), F.lit("stale"))
        .otherwise(F.lit("deleted"))
    )
    return rows.withColumn(BUCKET, bucket).where(col(_RANK) == 1)


def _rest_truncated(
    current: DataFrame, applied: DataFrame, keys: DataFrame, r: Roles, soft: bool, gone_at: Column
) -> DataFrame:
    """Gold rows of keys outside the batch that are older than the batch's latest truncate."""
    latest = applied.agg(F.max(seq_struct(r)).alias(_T))
    rest = current.join(keys, list(r.keys), "left_anti").crossJoin(latest)
    rest = rest.where(col(_T).isNotNull() & (seq_struct(r) < col(_T)))
    if soft:
        rest = rest.where(col(DELETED_AT).isNull()).withColumns({c: col(_T).getField(c) for c in r.sequence})
    return rest.withColumns({ACTION: F.lit(DELETE), DELETED_AT: gone_at}).drop(_T)


def plan_scd1(
    changes: DataFrame,
    current: DataFrame | None,
    tombstones: DataFrame | None,
    r: Roles,
    *,
    now: datetime,
    ignore_null_updates: bool = False,
    soft_delete: bool = False,
    truncates: bool = False,
) -> CdcPlan:
    """The SCD1 plan of a batch of ``changes`` (with ``_lh_op``) against gold's ``current`` rows.

    ``tombstones`` are the live remembered deletes and truncates. The target rows carry
    ``_lh_action`` upsert or delete (and ``_deleted_at`` with ``soft_delete``).
    """
    new = new_events(changes, r)
    keys = touched(new, r)
    events = [new, *_gold_events(current, tombstones, keys, r, soft_delete)]
    truncated = _truncates(changes, tombstones, r) if truncates else None
    if truncated is not None:
        applied = truncated.where(col(BUCKET) == "deleted").select(*[col(c) for c in r.sequence])
        events.append(event(applied.crossJoin(keys), r, F.lit(DELETE), TRUNCATE, 1, "d"))
    all_events = events[0]
    for e in events[1:]:
        all_events = all_events.unionByName(e, allowMissingColumns=True)
    by_key = Window.partitionBy(*[col(k) for k in r.keys])
    same = Window.partitionBy(*[col(c) for c in (*r.keys, *r.sequence)]).orderBy(_RANK, _TIE)
    s = seq_struct(r)
    marked = (
        all_events.withColumn(_RN, F.row_number().over(same))
        .withColumn(_MAX, F.max(F.when(col(_ORIGIN) == GOLD, s)).over(by_key))
        .withColumn(_HAS_ROW, F.max(col(_ROW)).over(by_key) if current is not None else F.lit(None))
    )
    newer = col(_MAX).isNull() | (s > col(_MAX))
    keep = (col(_RN) == 1) & F.when(col(_ORIGIN) == GOLD, s == col(_MAX)).otherwise(newer)
    marked = marked.withColumn(_KEEP, keep)
    order = [*[col(c) for c in r.sequence], col(_RANK), col(_TIE)]
    live = marked.where(col(_KEEP))
    if ignore_null_updates:
        live = coalesce_nulls(live, r, order)
    live = with_previous(live, r, order)
    dropped = marked.where((col(_ORIGIN) == NEW) & ~col(_KEEP)).select(
        F.when(col(_RN) > 1, F.lit("duplicate")).otherwise(F.lit("stale")).alias(BUCKET)
    )
    buckets = dropped.unionByName(live.where(col(_ORIGIN) == NEW).select(effect().alias(BUCKET)))
    if truncated is not None:
        buckets = buckets.unionByName(truncated.select(BUCKET))
    gone_at = deleted_at(changes, r, now)
    last = Window.partitionBy(*[col(k) for k in r.keys]).orderBy(*[o.desc() for o in order])
    final = live.withColumn(_LAST, F.row_number().over(last)).where(
        (col(_LAST) == 1) & (col(_ORIGIN) != GOLD)
    )
    writes = final.where((col(_KIND) == UPSERT) | (col(_HAS_ROW) == 1)).select(
        *[col(c) for c in r.columns],
        F.when(col(_KIND) == UPSERT, F.lit(UPSERT)).otherwise(F.lit(DELETE)).alias(ACTION),
        F.when(col(_KIND) == DELETE, gone_at).cast("timestamp").alias(DELETED_AT),
    )
    if truncated is not None and current is not None:
        rest = _rest_truncated(current, applied, keys, r, soft_delete, gone_at)
        writes = writes.unionByName(rest.select(*writes.columns))
    if not soft_delete:
        writes = writes.drop(DELETED_AT)
    tombs = tombstone_rows(live.where((col(_ORIGIN) == NEW) & (col(_KIND) == DELETE)), r, DELETE, now)
    if truncated is not None:
        tombs = tombs.unionByName(tombstone_rows(applied, r, TRUNCATE, now, changes.schema))
    return CdcPlan(changes=buckets, target=writes, tombstones=tombs, timeline=marked)
