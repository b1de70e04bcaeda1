"""SCD2 from a change feed: gold keeps every version of a key (pure, no actions).

The key's timeline holds gold's versions, its remembered deletes (a tombstone, or the end of a
version that no later version starts at) and the batch's changes, in sequence order. An
upsert whose compared values differ from the event before it starts a version; the version
ends where the next event starts (``valid_to``, the next event's first sequence column), and
is current while nothing follows. A late change therefore lands inside the version it
belongs to and splits it; the current row does not move. The plan's target rows say what
changes in gold: versions to ``insert``, versions whose end moves (``update``) and versions a
late change made redundant (``delete``, an equal version now starts earlier).
"""

from __future__ import annotations

from datetime import datetime

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F  # noqa: N812

from lakehouse.transforms.cdc import (
    _DERIVED,
    _KIND,
    _ORIGIN,
    _RANK,
    _RN,
    _TIE,
    ACTION,
    BUCKET,
    DELETE,
    GOLD,
    KIND,
    NEW,
    UPSERT,
    CdcPlan,
    Roles,
    coalesce_nulls,
    col,
    effect,
    event,
    new_events,
    tombstone_rows,
    touched,
    with_previous,
)

SCD2_COLUMNS = ("valid_from", "valid_to", "is_current")
_OLD_TO, _OLD_CURRENT, _NEXT = "_lh_old_to", "_lh_old_current", "_lh_next"


def _ends(history: DataFrame, dels: DataFrame | None, r: Roles) -> DataFrame:
    """Deletes known only from the history: a version's end that no version or tombstone starts at."""
    first = r.sequence[0]
    on = [*r.keys, first]
    starts = history.select(*[col(c) for c in on])
    if dels is not None:
        starts = starts.unionByName(dels.select(*[col(c) for c in on]))
    ends = history.where(col("valid_to").isNotNull()).select(
        *[col(k) for k in r.keys], col("valid_to").alias(first)
    )
    return ends.join(starts, on, "left_anti")


def plan_scd2(
    changes: DataFrame,
    history: DataFrame | None,
    tombstones: DataFrame | None,
    r: Roles,
    *,
    now: datetime,
    ignore_null_updates: bool = False,
) -> CdcPlan:
    """The SCD2 plan of a batch of ``changes`` (with ``_lh_op``) against gold's ``history``.

    Target rows: gold's columns, ``valid_from``/``valid_to``/``is_current`` and ``_lh_action``
    (insert, update of ``valid_to``/``is_current``, or delete), matched on keys and sequence.
    """
    new = new_events(changes, r)
    keys = touched(new, r)
    on = list(r.keys)
    events = [new]
    dels = None
    if tombstones is not None:
        dels = tombstones.where(col(KIND) == DELETE).join(keys, on, "left_semi")
        events.append(event(dels, r, F.lit(DELETE), GOLD, 0, "b"))
    if history is not None:
        hist = history.join(keys, on, "left_semi")
        old = {_OLD_TO: col("valid_to"), _OLD_CURRENT: col("is_current")}
        events.append(event(hist, r, F.lit(UPSERT), GOLD, 0, "a", extra=old))
        events.append(event(_ends(hist, dels, r), r, F.lit(DELETE), GOLD, 0, "c", derived=1))
    timeline = events[0]
    for e in events[1:]:
        timeline = timeline.unionByName(e, allowMissingColumns=True)
    first, rest = r.sequence[0], r.sequence[1:]
    order = [col(first), col(_DERIVED), *[col(c) for c in rest], col(_RANK), col(_TIE)]
    same = Window.partitionBy(*[col(c) for c in (*r.keys, *r.sequence, _DERIVED)]).orderBy(_RANK, _TIE)
    marked = timeline.withColumn(_RN, F.row_number().over(same))
    live = marked.where(col(_RN) == 1)
    if ignore_null_updates:
        live = coalesce_nulls(live, r, order, only=(col(_ORIGIN) == NEW) & (col(_KIND) == UPSERT))
    live = with_previous(live, r, order).withColumn(BUCKET, effect())
    buckets = (
        marked.where((col(_ORIGIN) == NEW) & (col(_RN) > 1))
        .select(F.lit("duplicate").alias(BUCKET))
        .unionByName(live.where(col(_ORIGIN) == NEW).select(BUCKET))
    )
    by_key = Window.partitionBy(*[col(k) for k in r.keys]).orderBy(*order)
    kept = live.where(col(BUCKET) != "no_op").withColumn(_NEXT, F.lead(col(first)).over(by_key))
    versions = kept.where(col(_KIND) == UPSERT).withColumns(
        {"valid_from": col(first), "valid_to": col(_NEXT), "is_current": col(_NEXT).isNull()}
    )
    out = [col(c) for c in (*r.columns, *SCD2_COLUMNS, ACTION)]
    target = versions.where(col(_ORIGIN) == NEW).withColumn(ACTION, F.lit("insert")).select(*out)
    if history is not None:
        moved = ~col("valid_to").eqNullSafe(col(_OLD_TO)) | (col("is_current") != col(_OLD_CURRENT))
        updates = versions.where((col(_ORIGIN) == GOLD) & moved).withColumn(ACTION, F.lit("update"))
        redundant = live.where((col(_ORIGIN) == GOLD) & (col(_KIND) == UPSERT) & (col(BUCKET) == "no_op"))
        deletes = redundant.withColumns(
            {"valid_from": col(first), "valid_to": col(_OLD_TO), "is_current": col(_OLD_CURRENT)}
        ).withColumn(ACTION, F.lit("delete"))
        target = target.unionByName(updates.select(*out)).unionByName(deletes.select(*out))
    tombs = tombstone_rows(live.where((col(_ORIGIN) == NEW) & (col(_KIND) == DELETE)), r, DELETE, now)
    return CdcPlan(changes=buckets, target=target, tombstones=tombs)
