"""SCD2 publishing: keep every version of a record with ``valid_from``, ``valid_to``, ``is_current``.

A source row opens a new version when its tracked columns differ from the version before it
(the key's current gold row, or the previous row of the same key in the batch, ordered by
the effective-from column). Rows whose effective time is not after the key's current
``valid_from`` are late or replayed and are ignored, which also makes a rerun a no-op.
Everything is one MERGE: the current row of a changed key is closed (``valid_to`` = the first
new version's start, ``is_current`` = false) and the new versions are inserted. When no row
changes, nothing is written and the table keeps its version.
"""

from __future__ import annotations

from collections.abc import Sequence

from delta.tables import DeltaTable
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F  # noqa: N812

from lakehouse.gold.writers import create_table, table_exists

SCD2_COLUMNS = ("valid_from", "valid_to", "is_current")
_ACTION, _CLOSE_AT, _HASH, _CUR_FROM, _CUR_HASH = (
    "_lh_action",
    "_lh_close_at",
    "_lh_hash",
    "_lh_cur_from",
    "_lh_cur_hash",
)


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


def merge_scd2(
    spark: SparkSession,
    df: DataFrame,
    path: str,
    keys: Sequence[str],
    effective_from: str,
    track: Sequence[str] | None,
    partition_by: Sequence[str] = (),
) -> bool:
    """Publish ``df`` as SCD2 history at ``path``; returns False when nothing changed."""
    cols = tracked_columns(df.columns, keys, effective_from, track)
    exists = table_exists(spark, path)
    target = DeltaTable.forPath(spark, path) if exists else None
    current = target.toDF().where("is_current") if target is not None else None
    changes = scd2_changes(df, current, keys, effective_from, cols).persist()
    try:
        if changes.isEmpty():
            return False
        if target is None:
            create_table(changes, path, partition_by)
            return True
        closes = (
            changes.groupBy(*keys)
            .agg(F.min("valid_from").alias(_CLOSE_AT))
            .withColumn(_ACTION, F.lit("close"))
        )
        source = changes.withColumn(_ACTION, F.lit("insert")).unionByName(closes, allowMissingColumns=True)
        on = " AND ".join([f"s.{_ACTION} = 'close'", "t.is_current", *[f"t.`{k}` <=> s.`{k}`" for k in keys]])
        (
            target.alias("t")
            .merge(source.alias("s"), on)
            .whenMatchedUpdate(set={"valid_to": f"s.{_CLOSE_AT}", "is_current": "false"})
            .whenNotMatchedInsert(
                condition=f"s.{_ACTION} = 'insert'", values={c: f"s.`{c}`" for c in changes.columns}
            )
            .execute()
        )
        return True
    finally:
        changes.unpersist()
