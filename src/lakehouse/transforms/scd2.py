"""SCD2 changes: the versions a batch adds to a history with ``valid_from``/``valid_to``/``is_current``.

A source row opens a new version when its tracked columns differ from the version before it
(the key's current gold row, or the previous row of the same key in the batch, ordered by
the effective-from column). Rows whose effective time is not after the key's current
``valid_from`` are late or replayed and are ignored, which also makes a rerun a no-op.
Pure: :func:`scd2_changes` computes the new versions; :func:`lakehouse.gold.writers.merge_scd2`
writes them with one MERGE.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F  # noqa: N812

from lakehouse.constants import SCD2_COLUMNS

_HASH, _CUR_FROM, _CUR_HASH = ("_lh_hash", "_lh_cur_from", "_lh_cur_hash")


def tracked_columns(
    columns: Sequence[str], keys: Sequence[str], effective_from: str, track: Sequence[str] | None
) -> list[str]:
    """The tracked columns: as configured, else every non-key, non-metadata (``_*``) column."""
    if track:
        return list(track)
    skip = {*keys, effective_from, *SCD2_COLUMNS}
    return [c for c in columns if c not in skip and not c.startswith("_")]


def _hash(track: Sequence[str]) -> Column:
    return F.sha2(F.to_json(F.struct(*[F.col(c) for c in track])), 256)


def scd2_changes(
    source: DataFrame,
    current: DataFrame | None,
    keys: Sequence[str],
    effective_from: str,
    track: Sequence[str],
) -> DataFrame:
    """The new versions to insert, with ``valid_from``/``valid_to``/``is_current`` (pure).

    ``current`` holds the target's current rows (keys, ``valid_from``, tracked columns).
    """
    src = source.withColumns({"valid_from": F.col(effective_from).cast("timestamp"), _HASH: _hash(track)})
    if current is not None:
        cur = current.select(*keys, F.col("valid_from").alias(_CUR_FROM), _hash(track).alias(_CUR_HASH))
        src = src.join(cur, on=list(keys), how="left").where(
            F.col(_CUR_FROM).isNull() | (F.col("valid_from") > F.col(_CUR_FROM))
        )
    else:
        src = src.withColumns(
            {_CUR_FROM: F.lit(None).cast("timestamp"), _CUR_HASH: F.lit(None).cast("string")}
        )
    by_key = Window.partitionBy(*keys).orderBy("valid_from")
    src = src.withColumn("_lh_prev", F.coalesce(F.lag(_HASH).over(by_key), F.col(_CUR_HASH)))
    changed = src.where(F.col("_lh_prev").isNull() | (F.col(_HASH) != F.col("_lh_prev")))
    return (
        changed.withColumn("valid_to", F.lead("valid_from").over(by_key))
        .withColumn("is_current", F.col("valid_to").isNull())
        .select(*source.columns, *SCD2_COLUMNS)
    )
