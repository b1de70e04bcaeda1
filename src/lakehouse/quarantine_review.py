"""``lakehouse quarantine show`` and ``replay``: a dataset's quarantined rows, their reasons and
counts; putting them back through the current contract.

Reads the dataset's silver quarantine table and, when the dataset has gold, gold's
``<table>_quarantine`` (rows its ``drop`` expectations kept out). Every reason is shown as
stored, as a label and a message:

* silver: one per failed check of the row, label ``<rule> on <column>`` (``cast on value``),
  the check's message and the original value;
* gold: one per ``drop`` expectation the row failed, label ``expectation <name>``.

``reason`` keeps the rows with at least one reason whose rule (``cast``, or an expectation's
name) or whole label (``cast on value``) is exactly that text, no prefix or pattern. Counts are
per label and message over the kept rows (a row with two reasons counts under both).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lakehouse.constants import GOLD, INGESTED_AT, RUN_ID, SILVER, SOURCE_FILE
from lakehouse.errors import ConfigError
from lakehouse.gold.runner import target_of
from lakehouse.io import delta
from lakehouse.io.increments import RangeState
from lakehouse.operations import from_micros
from lakehouse.silver import replay as silver_replay
from lakehouse.silver.replay import REPLAY_ID
from lakehouse.transforms.quarantine import DROPPED_BY, GOLD_RUN_ID, REASONS

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

    from lakehouse.config.model import DatasetConfig, PipelineConfig
    from lakehouse.results import RunSummary

WHY = "_lh_why"  # the reasons as array<struct<label, rule, message, value>>
RAW = "_raw"
QUARANTINED_AT = "_quarantined_at"


def _silver_reasons() -> Column:
    from pyspark.sql import functions as F  # noqa: N812

    return F.transform(
        F.col(REASONS),
        lambda r: F.struct(
            F.concat_ws(" on ", r["rule"], r["column"]).alias("label"),
            r["rule"].alias("rule"),
            r["message"].alias("message"),
            r["value"].alias("value"),
        ),
    )


def _gold_reasons() -> Column:
    from pyspark.sql import functions as F  # noqa: N812

    return F.transform(
        F.col(DROPPED_BY),
        lambda name: F.struct(
            F.concat(F.lit("expectation "), name).alias("label"),
            name.alias("rule"),
            F.lit("failed this drop expectation").alias("message"),
            F.lit(None).cast("string").alias("value"),
        ),
    )


def _sample(frame: DataFrame, layer: str, limit: int) -> list[dict[str, Any]]:
    """The first ``limit`` rows (oldest first), lineage and the row as JSON, with their reasons."""
    from pyspark.sql import functions as F  # noqa: N812

    if layer == SILVER:
        cols = [F.col(SOURCE_FILE).alias("file"), F.col(RUN_ID).alias("run_id"),
                F.unix_micros(QUARANTINED_AT).alias("at"), F.col(RAW).alias("row")]  # fmt: skip
        order = [F.col(QUARANTINED_AT), F.col(SOURCE_FILE), F.col(INGESTED_AT), F.col(RAW)]
    else:
        data = [c for c in frame.columns if c not in (DROPPED_BY, GOLD_RUN_ID, WHY)]
        cols = [F.lit(None).cast("string").alias("file"), F.col(GOLD_RUN_ID).alias("run_id"),
                F.lit(None).cast("long").alias("at"), F.to_json(F.struct(*data)).alias("row")]  # fmt: skip
        order = [F.col("row")]
    picked = frame.select(*cols, F.col(WHY)).orderBy(*order).limit(limit)
    rows = []
    for row in picked.collect():
        found = row.asDict(recursive=True)
        found["quarantined_at"] = None if found.pop("at") is None else from_micros(int(row["at"]))
        found["reasons"] = found.pop(WHY)
        rows.append(found)
    return rows


def _show_table(
    spark: SparkSession, layer: str, tables: tuple[str, str], reason: str | None, limit: int
) -> dict[str, Any]:
    """``tables``: the quarantine table and the table it keeps rows out of."""
    from pyspark.sql import functions as F  # noqa: N812

    table, parent = tables
    found: dict[str, Any] = {"layer": layer, "table": table, "exists": delta.table_exists(spark, table)}
    if not found["exists"]:  # gold writes its quarantine with the first row it drops
        ran = delta.table_exists(spark, parent)
        return {
            **found,
            "layer_ran": ran,
            "rows": 0,
            "replayed": 0,
            "matching": 0,
            "reasons": [],
            "sample": [],
        }
    frame = delta.read_table(spark, table)
    replayed = 0
    if REPLAY_ID in frame.columns:  # rows a replay took: where they went is in silver or below
        replayed = frame.where(F.col(REPLAY_ID).isNotNull()).count()
        frame = frame.where(F.col(REPLAY_ID).isNull())
    found["replayed"] = replayed
    frame = frame.withColumn(WHY, _silver_reasons() if layer == SILVER else _gold_reasons())
    total = frame.count()
    if reason is not None:
        frame = frame.where(
            F.exists(WHY, lambda r: (r["rule"] == F.lit(reason)) | (r["label"] == F.lit(reason)))
        )
    counts = (
        frame.select(F.explode(WHY).alias("r"))
        .groupBy(F.col("r.label").alias("label"), F.col("r.message").alias("message"))
        .agg(F.count(F.lit(1)).alias("count"))
        .collect()
    )
    reasons = sorted(
        (r.asDict() for r in counts), key=lambda r: (-r["count"], r["label"], r["message"] or "")
    )
    matching = total if reason is None else frame.count()
    sample = _sample(frame, layer, limit) if matching and limit else []
    return {
        **found,
        "layer_ran": True,
        "rows": total,
        "matching": matching,
        "reasons": reasons,
        "sample": sample,
    }


def _with_quarantine(config: PipelineConfig, dataset: str) -> DatasetConfig:
    ds = config.dataset(dataset)
    if SILVER not in ds.layers:
        raise ConfigError(
            f"dataset {dataset!r} has no contract, so no silver layer and no quarantine",
            file=config.file,
            key_path=f"datasets.{dataset}",
        )
    return ds


def show(
    spark: SparkSession, config: PipelineConfig, dataset: str, reason: str | None = None, limit: int = 20
) -> dict[str, Any]:
    """The quarantine of ``dataset``: per table (silver, then gold's if it has gold) its rows
    not replayed yet, the rows ``reason`` keeps, counts per reason and the first ``limit`` rows."""
    ds = _with_quarantine(config, dataset)
    tables = [(SILVER, (ds.quarantine_path, ds.silver_path))]
    if ds.gold is not None:
        target = target_of(config, ds.name, ds.gold.table)
        tables.append((GOLD, (target.quarantine_path, target.path)))
    return {
        "pipeline": config.name, "env": config.env, "dataset": dataset, "reason": reason, "limit": limit,
        "tables": [_show_table(spark, layer, table, reason, limit) for layer, table in tables],
    }  # fmt: skip


def replay(
    spark: SparkSession,
    config: PipelineConfig,
    dataset: str,
    reason: str | None = None,
    wait: float | None = None,
) -> RunSummary:
    """``lakehouse quarantine replay``: the silver quarantine's rows not replayed yet (those with
    ``reason``, if given) through the current contract (:mod:`lakehouse.silver.replay`), in a
    run of the dataset's silver and gold (and its derived tables) under the run lock."""
    from lakehouse.pipeline import run_pipeline

    ds = _with_quarantine(config, dataset)
    layers = [SILVER] + ([GOLD] if ds.gold is not None else [])
    derived = [d.name for d in config.derived if dataset in d.inputs]
    states = RangeState(config.storage.checkpoint(SILVER, dataset)).dir

    def prepare() -> None:
        silver_replay.request(states, reason)

    return run_pipeline(spark, config, only={dataset: layers}, derived=derived, wait=wait, prepare=prepare)
