"""Change data capture: what a batch of changes does to a gold table (pure, no actions).

Every change of a key is an *event* on the key's timeline, ordered by ``sequence_by`` (column
by column). Gold's state enters as events too: the current row (SCD1) or the versions (SCD2),
the remembered deletes (tombstones) and, for SCD1, table truncates. A change with the same key
and sequence as an event already on the timeline is a ``duplicate``; SCD1 ignores a change
older than the newest event gold holds for the key (``stale``); the rest are applied in order
and counted by their effect (``inserted``, ``updated``, ``deleted``, ``no_op``).

:func:`plan_scd1` and :func:`lakehouse.transforms.cdc_scd2.plan_scd2` return a
:class:`CdcPlan`: the changes with their bucket, the rows to MERGE into gold and the deletes
to remember. The plans read nothing: gold's state is handed in as DataFrames, and they are
deterministic, so a plan evaluated twice gives the same rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F  # noqa: N812
from pyspark.sql.types import DateType, StructType, TimestampNTZType, TimestampType

from lakehouse.config.cdc import CdcSpec
from lakehouse.constants import DELETED_AT as DELETED_AT  # re-exported: the change plans use it

OP, BUCKET, ACTION = "_lh_op", "_lh_bucket", "_lh_action"
KIND, RECORDED_AT = "_kind", "_recorded_at"
BUCKETS = ("inserted", "updated", "deleted", "stale", "duplicate", "no_op")
UPSERT, DELETE, TRUNCATE = "upsert", "delete", "truncate"
# Event columns: kind (upsert/delete), origin (gold/new/truncate), rank and tie (which of two
# events with one key and sequence wins), derived (an SCD2 end known only from ``valid_to``).
_KIND, _ORIGIN, _RANK, _TIE, _DERIVED = "_lh_kind", "_lh_origin", "_lh_rank", "_lh_tie", "_lh_derived"
_RN, _HASH, _PREV_KIND, _PREV_HASH, _SEG = "_lh_rn", "_lh_hash", "_lh_prev_kind", "_lh_prev_hash", "_lh_seg"
GOLD, NEW = "gold", "new"


def col(name: str) -> Column:
    """A column by name, quoted (names may hold dots or spaces)."""
    return F.col("`" + name.replace("`", "``") + "`")


@dataclass(frozen=True)
class Roles:
    """Gold's columns by role: keys, sequence, the rest, and those whose change is an update."""

    keys: tuple[str, ...]
    sequence: tuple[str, ...]
    columns: tuple[str, ...]
    compare: tuple[str, ...]

    @property
    def data(self) -> tuple[str, ...]:
        return tuple(c for c in self.columns if c not in (*self.keys, *self.sequence))


def roles_of(
    columns: Sequence[str], keys: Sequence[str], cdc: CdcSpec, track: Sequence[str] | None = None
) -> Roles:
    """The roles in a batch with ``columns``: gold keeps all but the operation and except columns.

    ``compare``: ``track`` when given (SCD2), else every kept column that is not a key, a
    sequence column or a ``_`` metadata column.
    """
    kept = tuple(c for c in columns if c not in cdc.excluded and c != OP)
    data = [c for c in kept if c not in (*keys, *cdc.sequence_by)]
    compare = tuple(track) if track else tuple(c for c in data if not c.startswith("_"))
    return Roles(tuple(keys), cdc.sequence_by, kept, compare)


def missing_columns(
    columns: Sequence[str], keys: Sequence[str], cdc: CdcSpec, track: Sequence[str] | None
) -> list[str]:
    """The configured columns (keys, sequence, operation, except, track) absent from the batch."""
    named = [*keys, *cdc.sequence_by, *cdc.excluded, *(track or ())]
    return [c for c in dict.fromkeys(named) if c not in columns]


def with_operation(df: DataFrame, cdc: CdcSpec) -> DataFrame:
    """Add ``_lh_op``: truncate, delete (by the spec's conditions, NULL = no) or upsert."""
    op = F.lit(UPSERT)
    if cdc.deletes is not None:
        op = F.when(F.coalesce(F.expr(cdc.deletes).cast("boolean"), F.lit(False)), F.lit(DELETE)).otherwise(
            op
        )
    if cdc.apply_as_truncates is not None:
        truncate = F.coalesce(F.expr(cdc.apply_as_truncates).cast("boolean"), F.lit(False))
        op = F.when(truncate, F.lit(TRUNCATE)).otherwise(op)
    return df.withColumn(OP, op)


@dataclass(frozen=True)
class CdcPlan:
    """What a batch does: ``changes`` (one row per change, with ``_lh_bucket``), ``target``
    (rows to MERGE into gold, with ``_lh_action``) and ``tombstones`` (deletes to remember).

    ``timeline`` is what the three are computed from: the batch's events with gold's versions
    and the remembered deletes of the keys it touches, each marked (first of its sequence,
    kept or not). It holds the plan's joins and its widest windows; a caller that runs more
    than one action on the plan caches it, so they are computed once.
    """

    changes: DataFrame
    target: DataFrame
    tombstones: DataFrame
    timeline: DataFrame


# --- shared pieces ---------------------------------------------------------------------------


def seq_struct(r: Roles) -> Column:
    """The sequence as one comparable value (structs compare field by field)."""
    return F.struct(*[col(c).alias(c) for c in r.sequence])


def row_hash(columns: Sequence[str]) -> Column:
    """A hash of the values of ``columns`` (equal values, equal hash; NULL-safe)."""
    return F.sha2(F.to_json(F.struct(*[col(c).alias(c) for c in columns])), 256)


def new_events(changes: DataFrame, r: Roles) -> DataFrame:
    """The batch's upserts and deletes as events; a delete carries no values."""
    tie = F.sha2(F.to_json(F.struct(*[col(c).alias(c) for c in changes.columns])), 256)
    kind = col(OP)
    return changes.where(kind != TRUNCATE).select(
        *[col(c) for c in (*r.keys, *r.sequence)],
        *[F.when(kind == UPSERT, col(c)).alias(c) for c in r.data],
        kind.alias(_KIND),
        F.lit(NEW).alias(_ORIGIN),
        F.when(kind == DELETE, 1).otherwise(2).alias(_RANK),
        tie.alias(_TIE),
        F.lit(0).alias(_DERIVED),
    )


def event(
    df: DataFrame,
    r: Roles,
    kind: Column,
    origin: str,
    rank: int,
    tie: str,
    derived: int = 0,
    extra: Mapping[str, Column] | None = None,
) -> DataFrame:
    """Rows shaped like gold (or tombstones) as events; absent columns are NULL, and so are the
    values of a delete."""
    present = set(df.columns)

    def value(c: str) -> Column:
        return col(c) if c in present else F.lit(None)

    return df.select(
        *[value(c).alias(c) for c in (*r.keys, *r.sequence)],
        *[F.when(kind == UPSERT, value(c)).alias(c) for c in r.data],
        kind.alias(_KIND),
        F.lit(origin).alias(_ORIGIN),
        F.lit(rank).alias(_RANK),
        F.lit(tie).alias(_TIE),
        F.lit(derived).alias(_DERIVED),
        *[v.alias(k) for k, v in (extra or {}).items()],
    )


def touched(events: DataFrame, r: Roles) -> DataFrame:
    """The distinct keys of the batch's events."""
    return events.select(*[col(k) for k in r.keys]).distinct()


def coalesce_nulls(df: DataFrame, r: Roles, order: list[Column], only: Column | None = None) -> DataFrame:
    """``ignore_null_updates``: a NULL in an upsert keeps the value before it (since the last delete)."""
    by_key = Window.partitionBy(*[col(k) for k in r.keys]).orderBy(*order)
    upto = (
        Window.partitionBy(*[col(k) for k in r.keys], col(_SEG))
        .orderBy(*order)
        .rowsBetween(Window.unboundedPreceding, Window.currentRow)
    )
    seg = F.sum(F.when(col(_KIND) == DELETE, 1).otherwise(0)).over(
        by_key.rowsBetween(Window.unboundedPreceding, Window.currentRow)
    )
    df = df.withColumn(_SEG, seg)
    fill = {c: F.last(col(c), ignorenulls=True).over(upto) for c in r.data}
    if only is not None:
        fill = {c: F.when(only, v).otherwise(col(c)) for c, v in fill.items()}
    return df.withColumns(fill).drop(_SEG)


def with_previous(df: DataFrame, r: Roles, order: list[Column]) -> DataFrame:
    """The kind and compared-values hash of the event before each one on the key's timeline."""
    by_key = Window.partitionBy(*[col(k) for k in r.keys]).orderBy(*order)
    return (
        df.withColumn(_HASH, row_hash(r.compare))
        .withColumn(_PREV_KIND, F.lag(_KIND).over(by_key))
        .withColumn(_PREV_HASH, F.lag(_HASH).over(by_key))
    )


def effect() -> Column:
    """The bucket of an applied change by its effect on the state before it."""
    return (
        F.when(col(_KIND) == DELETE, F.lit("deleted"))
        .when(col(_PREV_KIND).isNull() | (col(_PREV_KIND) == DELETE), F.lit("inserted"))
        .when(col(_HASH) == col(_PREV_HASH), F.lit("no_op"))
        .otherwise(F.lit("updated"))
    )


def deleted_at(changes: DataFrame, r: Roles, now: datetime) -> Column:
    """``_deleted_at`` of a soft delete: the first sequence column if it is a time, else ``now``."""
    first = changes.schema[r.sequence[0]].dataType
    if isinstance(first, (TimestampType, TimestampNTZType, DateType)):
        return col(r.sequence[0]).cast("timestamp")
    return F.lit(now).cast("timestamp")


def tombstone_rows(
    deletes: DataFrame, r: Roles, kind: str, now: datetime, schema: StructType | None = None
) -> DataFrame:
    """Rows of the tombstone table: key (NULL for a truncate, typed as in ``schema``), sequence,
    kind and the time it was recorded."""
    if schema is None:
        keys = [col(k) for k in r.keys]
    else:
        keys = [F.lit(None).cast(schema[k].dataType).alias(k) for k in r.keys]
    return deletes.select(
        *keys,
        *[col(c) for c in r.sequence],
        F.lit(kind).alias(KIND),
        F.lit(now).cast("timestamp").alias(RECORDED_AT),
    )


def live_tombstones(tombstones: DataFrame | None, cutoff: datetime) -> DataFrame | None:
    """The tombstones recorded at or after ``cutoff`` (older ones have expired)."""
    return None if tombstones is None else tombstones.where(col(RECORDED_AT) >= F.lit(cutoff))


def classified(changes: DataFrame, bucket: Column) -> DataFrame:
    return changes.select(bucket.alias(BUCKET))
