"""Publish a change batch to gold: read gold's state, plan the changes, count them, write them.

Composes the pure plan (:mod:`lakehouse.transforms.cdc_scd1` / ``cdc_scd2``) with the writer
(:mod:`lakehouse.gold.cdc_writer`). Gold and its tombstone table are read at the version they
have when the batch starts, so counting and writing evaluate the same plan. Writes, in this
order: gold (one MERGE, or the first write), then the tombstones (one MERGE). A batch whose
changes are all duplicates or stale writes nothing, so a rerun changes no Delta version.
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
class CdcOutcome:
    """Whether gold got a new version, and the batch's changes per bucket."""

    committed: bool
    buckets: dict[str, int]


def _read(spark: SparkSession, path: str) -> DataFrame | None:
    version = delta.table_version(spark, path)
    return None if version is None else delta.read_table(spark, path, version)


def plan(
    spark: SparkSession, df: DataFrame, spec: GoldSpec, path: str, tombstones_path: str, now: datetime
) -> tuple[Roles, CdcPlan]:
    """The roles of the batch's columns and its plan against gold as it is now."""
    cdc = spec.cdc
    if cdc is None:
        raise PublishError(f"{path}: the gold spec has no cdc block")
    track = spec.scd2.track if spec.scd2 else None
    missing = missing_columns(df.columns, spec.keys, cdc, track)
    if missing:
        raise PublishError(
            f"gold {spec.table}: cdc columns not in the batch: {', '.join(missing)} "
            f"(the batch has {', '.join(df.columns)})"
        )
    r = roles_of(df.columns, spec.keys, cdc, track)
    changes = with_operation(df, cdc)
    tombstones = live_tombstones(_read(spark, tombstones_path), now - cdc.tombstone_retention)
    if spec.mode == "scd2":
        return r, plan_scd2(
            changes, _read(spark, path), tombstones, r, now=now, ignore_null_updates=cdc.ignore_null_updates
        )
    return r, plan_scd1(
        changes,
        _read(spark, path),
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
    spark: SparkSession, df: DataFrame, spec: GoldSpec, path: str, tombstones_path: str, now: datetime
) -> CdcOutcome:
    """Apply the change batch ``df`` to gold at ``path``; tombstones live at ``tombstones_path``."""
    if spec.cdc is None:
        raise PublishError(f"gold {spec.table}: the gold spec has no cdc block")
    r, p = plan(spark, df, spec, path, tombstones_path, now)
    buckets, to_merge = count(p)
    if to_merge:
        if spec.mode == "scd2":
            cdc_writer.merge_scd2(spark, p.target, path, r, spec.partition_by)
        else:
            cdc_writer.merge_scd1(
                spark, p.target, path, r, soft_delete=spec.cdc.soft_delete, partition_by=spec.partition_by
            )
    if buckets["deleted"]:
        cdc_writer.remember(spark, p.tombstones, tombstones_path, r, now - spec.cdc.tombstone_retention)
    return CdcOutcome(to_merge > 0, buckets)
