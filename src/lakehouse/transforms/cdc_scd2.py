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

from lakehouse.constants import SCD2_COLUMNS
from lakehouse.transforms import cdc

_OLD_TO, _OLD_CURRENT, _NEXT = "_lh_old_to", "_lh_old_current", "_lh_next"


def _ends(history: DataFrame, dels: DataFrame | None, r: cdc.Roles) -> DataFrame:
    """Deletes known only from the history: a version's end that no version or tombstone starts at."""
    first = r.sequence[0]
    on = [*r.keys, first]
    starts = history.select(*[cdc.col(c) for c in on])
    if dels is not None:
        starts = starts.unionByName(dels.select(*[cdc.col(c) for c in on]))
    ends = history.where(cdc.col("valid_to").isNotNull()).select(
        *[cdc.col(k) for k in r.keys], cdc.col("valid_to").alias(first)
    )
    return ends.join(starts, on, "left_anti")


def plan_scd2(
    changes: DataFrame,
    history: DataFrame | None,
    tombstones: DataFrame | None,
    r: cdc.Roles,
    *,
    now: datetime,
    ignore_null_updates: bool = False,
) -> cdc.CdcPlan:
    """The SCD2 plan of a batch of ``changes`` (with ``_lh_op``) against gold's ``history``.

    Target rows: gold's columns, ``valid_from``/``valid_to``/``is_current`` and ``_lh_action``
    (insert, update of ``valid_to``/``is_current``, or delete), matched on keys and sequence.
    """
    new = cdc.new_events(changes, r)
    keys = cdc.touched(new, r)
    on = list(r.keys)
    events = [new]
    dels = None
    if tombstones is not None:
        dels = tombstones.where(cdc.col(cdc.KIND) == cdc.DELETE).join(keys, on, "left_semi")
        events.append(cdc.event(dels, r, F.lit(cdc.DELETE), cdc.GOLD, 0, "b"))
    if history is not None:
        hist = history.join(keys, on, "left_semi")
        old = {_OLD_TO: cdc.col("valid_to"), _OLD_CURRENT: cdc.col("is_current")}
        events.append(cdc.event(hist, r, F.lit(cdc.UPSERT), cdc.GOLD, 0, "a", extra=old))
        events.append(cdc.event(_ends(hist, dels, r), r, F.lit(cdc.DELETE), cdc.GOLD, 0, "c", derived=1))
    timeline = events[0]
    for e in events[1:]:
        timeline = timeline.unionByName(e, allowMissingColumns=True)
    first, rest = r.sequence[0], r.sequence[1:]
    order = [
        cdc.col(first),
        cdc.col(cdc._DERIVED),
        *[cdc.col(c) for c in rest],
        cdc.col(cdc._RANK),
        cdc.col(cdc._TIE),
    ]
    same = Window.partitionBy(*[cdc.col(c) for c in (*r.keys, *r.sequence, cdc._DERIVED)]).orderBy(
        cdc._RANK, cdc._TIE
    )
    marked = timeline.withColumn(cdc._RN, F.row_number().over(same))
    live = marked.where(cdc.col(cdc._RN) == 1)
    if ignore_null_updates:
        live = cdc.coalesce_nulls(
            live, r, order, only=(cdc.col(cdc._ORIGIN) == cdc.NEW) & (cdc.col(cdc._KIND) == cdc.UPSERT)
        )
    live = cdc.with_previous(live, r, order).withColumn(cdc.BUCKET, cdc.effect())
    buckets = (
        marked.where((cdc.col(cdc._ORIGIN) == cdc.NEW) & (cdc.col(cdc._RN) > 1))
        .select(F.lit("duplicate").alias(cdc.BUCKET))
        .unionByName(live.where(cdc.col(cdc._ORIGIN) == cdc.NEW).select(cdc.BUCKET))
    )
    by_key = Window.partitionBy(*[cdc.col(k) for k in r.keys]).orderBy(*order)
    kept = live.where(cdc.col(cdc.BUCKET) != "no_op").withColumn(_NEXT, F.lead(cdc.col(first)).over(by_key))
    versions = kept.where(cdc.col(cdc._KIND) == cdc.UPSERT).withColumns(
        {"valid_from": cdc.col(first), "valid_to": cdc.col(_NEXT), "is_current": cdc.col(_NEXT).isNull()}
    )
    out = [cdc.col(c) for c in (*r.columns, *SCD2_COLUMNS, cdc.ACTION)]
    target = (
        versions.where(cdc.col(cdc._ORIGIN) == cdc.NEW).withColumn(cdc.ACTION, F.lit("insert")).select(*out)
    )
    if history is not None:
        moved = ~cdc.col("valid_to").eqNullSafe(cdc.col(_OLD_TO)) | (
            cdc.col("is_current") != cdc.col(_OLD_CURRENT)
        )
        updates = versions.where((cdc.col(cdc._ORIGIN) == cdc.GOLD) & moved).withColumn(
            cdc.ACTION, F.lit("update")
        )
        redundant = live.where(
            (cdc.col(cdc._ORIGIN) == cdc.GOLD)
            & (cdc.col(cdc._KIND) == cdc.UPSERT)
            & (cdc.col(cdc.BUCKET) == "no_op")
        )
        deletes = redundant.withColumns(
            {"valid_from": cdc.col(first), "valid_to": cdc.col(_OLD_TO), "is_current": cdc.col(_OLD_CURRENT)}
        ).withColumn(cdc.ACTION, F.lit("delete"))
        target = target.unionByName(updates.select(*out)).unionByName(deletes.select(*out))
    tombs = cdc.tombstone_rows(
        live.where((cdc.col(cdc._ORIGIN) == cdc.NEW) & (cdc.col(cdc._KIND) == cdc.DELETE)), r, cdc.DELETE, now
    )
    return cdc.CdcPlan(changes=buckets, target=target, tombstones=tombs, timeline=marked)
