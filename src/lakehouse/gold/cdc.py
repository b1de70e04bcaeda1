"""Publish a change batch to gold: read gold's state, plan the changes, count them, write them.

Composes the pure plan (:mod:`lakehouse.transforms.cdc_scd1` / ``cdc_scd2``) with the writer
(:mod:`lakehouse.gold.cdc_writer`). Gold and its tombstone table are read at the versions they
had before the batch (the ones gold's plan recorded), so counting and writing evaluate the
same plan, and a batch replayed after a crash plans exactly what it planned the first time.
Writes, in this order: gold (one MERGE, or the first write), then the tombstones (one MERGE),
each carrying the batch's ``txn`` (Delta's txnAppId/txnVersion): a write that already reached
its table is skipped by Delta. A batch whose changes are all duplicates or stale writes
nothing, so a rerun of the same changes changes no Delta version.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F  # noqa: N812

from lakehouse.config.gold import GoldSpec
from lakehouse.errors import PublishError
from lakehouse.gold import cdc_writer
from lakehouse.io import delta
from lakehouse.io.cache import kept
from lakehouse.io.delta import Txn
from lakehouse.transforms.cdc import (
    BUCKET,
    BUCKETS,
    CdcPlan,
    Roles,
    live_tombstones,
    missing_columns,
    roles_of,
    with_operation,
)
from lakehouse.transforms.cdc_scd1 import plan_scd1
from lakehouse.transforms.cdc_scd2 import plan_scd2

_TARGET = "_target"  # marks the rows to merge in the counting job


@dataclass(frozen=True)
class Tables:
    """Gold and its tombstone table, with the versions the batch plans against (None: as now)."""

    gold: str
    tombstones: str
    gold_version: int | None = None
    tombstones_version: int | None = None


@dataclass(frozen=True)
class CdcOutcome:
    """Whether gold got a new version, and the batch's changes per bucket."""

    committed: bool
    buckets: dict[str, int]


def _read(spark: SparkSession, table: str, version: int | None) -> DataFrame | None:
    version = delta.table_version(spark, table) if version is None else version
    return None if version is None else delta.read_table(spark, table, version)


def plan(
    spark: SparkSession, df: DataFrame, spec: GoldSpec, tables: Tables, now: datetime
) -> tuple[Roles, CdcPlan]:
    """The roles of the batch's columns and its plan against gold as of ``tables``' versions."""
    cdc = spec.cdc
    if cdc is None:
        raise PublishError(f"{tables.gold}: the gold spec has no cdc block")
    track = spec.scd2.track if spec.scd2 else None
    missing = missing_columns(df.columns, spec.keys, cdc, track)
    if missing:
        raise PublishError(
            f"gold {spec.table}: cdc columns not in the batch: {', '.join(missing)} "
            f"(the batch has {', '.join(df.columns)})"
        )
    r = roles_of(df.columns, spec.keys, cdc, track)
    changes = with_operation(df, cdc)
    remembered = _read(spark, tables.tombstones, tables.tombstones_version)
    tombstones = live_tombstones(remembered, now - cdc.tombstone_retention)
    gold = _read(spark, tables.gold, tables.gold_version)
    if spec.mode == "scd2":
        nulls = cdc.ignore_null_updates
        return r, plan_scd2(changes, gold, tombstones, r, now=now, ignore_null_updates=nulls)
    return r, plan_scd1(
        changes,
        gold,
        tombstones,
        r,
        now=now,
        ignore_null_updates=cdc.ignore_null_updates,
        soft_delete=cdc.soft_delete,
        truncates=cdc.apply_as_truncates is not None,
    )


def count(p: CdcPlan) -> tuple[dict[str, int], int]:
    """Changes per bucket (every bucket present) and the number of rows to merge, in one job."""
    marks = p.changes.select(BUCKET).unionByName(p.target.select(F.lit(_TARGET).alias(BUCKET)))
    found = {row[0]: int(row[1]) for row in marks.groupBy(BUCKET).count().collect()}
    return {b: found.get(b, 0) for b in BUCKETS}, found.get(_TARGET, 0)


def publish_changes(
    spark: SparkSession,
    df: DataFrame,
    spec: GoldSpec,
    tables: Tables,
    now: datetime,
    *,
    txn: Txn = None,
) -> CdcOutcome:
    """Apply the change batch ``df`` to ``tables.gold`` (deletes remembered in ``tables.tombstones``).

    ``txn`` = (app id, version) makes each write idempotent (a replayed batch writes nothing twice).
    """
    if spec.cdc is None:
        raise PublishError(f"gold {spec.table}: the gold spec has no cdc block")
    r, p = plan(spark, df, spec, tables, now)
    # The count, the MERGE and the tombstones all start from the plan's timeline: computed once.
    with kept(p.timeline, f"gold {spec.table} change timeline"):
        buckets, to_merge = count(p)
        if to_merge:
            cdc_writer.merge_changes(
                spark,
                p.target,
                tables.gold,
                r,
                scd2=spec.mode == "scd2",
                soft_delete=spec.cdc.soft_delete,
                partition_by=spec.partition_by,
                txn=txn,
            )
        if buckets["deleted"]:
            cutoff = now - spec.cdc.tombstone_retention
            cdc_writer.remember(spark, p.tombstones, tables.tombstones, r, cutoff, txn=txn)
    return CdcOutcome(to_merge > 0, buckets)
