"""Gold of the hand-written baseline: cleansing, one-aggregate expectations, MERGE and SCD2."""

from __future__ import annotations

from typing import Any

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F  # noqa: N812

USAGE_KEYS = ["device_id", "event_ts"]
CONFIG_TRACK = ["os_version", "model", "power_saving", "brightness_pct", "apps_installed"]
USAGE_TRACK = ["app", "cpu_pct", "mem_mb", "battery_pct", "network"]


def latest_per_key(df: DataFrame, keys: list[str]) -> DataFrame:
    newest = Window.partitionBy(*keys).orderBy(F.desc("_ingested_at"))
    return df.withColumn("_n", F.row_number().over(newest)).filter("_n = 1").drop("_n")


def merge_upsert(spark: SparkSession, df: DataFrame, path: str, keys: list[str]) -> None:
    if not DeltaTable.isDeltaTable(spark, path):
        df.write.format("delta").save(path)
        return
    on = " AND ".join(f"t.{k} = s.{k}" for k in keys)
    target = DeltaTable.forPath(spark, path).alias("t")
    target.merge(df.alias("s"), on).whenMatchedUpdateAll().whenNotMatchedInsertAll().execute()


def _versions(rows: DataFrame, keys: list[str], previous: Any) -> DataFrame:
    """Rows whose tracked hash differs from the version before them, with validity bounds."""
    by_time = Window.partitionBy(*keys).orderBy("valid_from")
    before = rows.withColumn("_before", F.coalesce(F.lag("_h").over(by_time), previous))
    changed = before.filter(F.col("_before").isNull() | (F.col("_h") != F.col("_before"))).drop("_before")
    return changed.withColumn("valid_to", F.lead("valid_from").over(by_time)).withColumn(
        "is_current", F.col("valid_to").isNull()
    )


def scd2_merge(
    spark: SparkSession, batch: DataFrame, path: str, keys: list[str], track: list[str], effective: str
) -> None:
    """Type-2 history: close the current row of each changed key and insert the new versions."""
    rows = batch.withColumns(
        {"_h": F.sha2(F.to_json(F.struct(*track)), 256), "valid_from": F.col(effective).cast("timestamp")}
    )
    if not DeltaTable.isDeltaTable(spark, path):
        _versions(rows, keys, F.lit(None)).drop("_h").write.format("delta").save(path)
        return
    target = DeltaTable.forPath(spark, path)
    current = (
        target.toDF()
        .filter("is_current")
        .select(
            *keys,
            F.col("valid_from").alias("_cur_from"),
            F.sha2(F.to_json(F.struct(*track)), 256).alias("_cur_h"),
        )
    )
    newer = rows.join(current, keys, "left").filter(
        F.col("_cur_from").isNull() | (F.col("valid_from") > F.col("_cur_from"))
    )
    versions = _versions(newer, keys, F.col("_cur_h")).persist()
    closes = (
        versions.filter(F.col("_cur_from").isNotNull())
        .groupBy(*keys, "_cur_from")
        .agg(F.min("valid_from").alias("_close_at"))
    )
    columns = target.toDF().columns
    staged = versions.select(*columns, F.lit(None).cast("timestamp").alias("_match_from")).unionByName(
        closes.withColumnRenamed("_cur_from", "_match_from"), allowMissingColumns=True
    )
    on = " AND ".join(f"t.{k} = s.{k}" for k in keys) + " AND t.valid_from = s._match_from"
    (
        target.alias("t")
        .merge(staged.alias("s"), on)
        .whenMatchedUpdate(set={"valid_to": "s._close_at", "is_current": "false"})
        .whenNotMatchedInsert(values={c: f"s.`{c}`" for c in columns})
        .execute()
    )
    versions.unpersist()


def _usage_batch(spark: SparkSession, root: str, spec: dict[str, Any], touched: set[str]) -> Any:
    def write(batch: DataFrame, _: int) -> None:
        staged = (
            batch.withColumns({"app": F.lower(F.trim("app")), "network": F.lower(F.trim("network"))})
            .transform(latest_per_key, USAGE_KEYS)
            .fillna({"network": "unknown"})
            .persist()
        )
        stats = staged.agg(
            F.count(F.lit(1)).alias("rows"),
            F.sum(F.when(F.col("cpu_pct") >= 99, 1).otherwise(0)).alias("cpu_pegged"),
            F.sum(F.when(F.col("cpu_pct").isNull(), 1).otherwise(0)).alias("cpu_null"),
            F.sum(F.when(F.col("battery_pct").isNull(), 1).otherwise(0)).alias("battery_null"),
        ).first()
        assert stats is not None  # an aggregate without grouping returns one row
        if stats["rows"] < 1 or stats["cpu_pegged"] > 0.25 * stats["rows"]:
            raise ValueError(f"usage gold expectations failed: {stats.asDict()}")
        keep = F.coalesce(F.col("mem_mb") > 0, F.lit(False))
        staged.filter(~keep).write.format("delta").mode("append").save(
            f"{root}/gold/{spec['table']}_quarantine"
        )
        kept = staged.filter(keep)
        path = f"{root}/gold/{spec['table']}"
        if spec["mode"] == "scd2":
            scd2_merge(spark, kept, path, USAGE_KEYS, USAGE_TRACK, "_ingested_at")
        else:
            merge_upsert(spark, kept, path, USAGE_KEYS)
            touched.update(
                r[0] for r in kept.select(F.to_date("event_ts").cast("string")).distinct().collect()
            )
        staged.unpersist()

    return write


def _config_batch(spark: SparkSession, root: str) -> Any:
    def write(batch: DataFrame, _: int) -> None:
        staged = latest_per_key(batch, ["device_id", "snapshot_ts"]).persist()
        if staged.filter(F.col("os_version").isNull()).limit(1).count():
            raise ValueError("device_config gold expectation failed: os_version is null")
        path = f"{root}/gold/device_config_history"
        scd2_merge(spark, staged, path, ["device_id"], CONFIG_TRACK, "snapshot_ts")
        staged.unpersist()

    return write


def publish(spark: SparkSession, root: str, name: str, usage: dict[str, Any], touched: set[str]) -> None:
    from benchmarks.handwritten import run_stream

    batch = _usage_batch(spark, root, usage, touched) if name == "usage" else _config_batch(spark, root)
    checkpoint = f"{root}/_checkpoints/gold/{usage['table'] if name == 'usage' else name}"
    stream = spark.readStream.format("delta").load(f"{root}/silver/{name}")
    run_stream(stream, checkpoint, batch=batch)


DAILY_SQL = """
SELECT u.device_id, to_date(u.event_ts) AS usage_date, count(*) AS events,
       round(avg(u.cpu_pct), 2) AS avg_cpu_pct, max(u.mem_mb) AS max_mem_mb,
       min(u.battery_pct) AS min_battery_pct,
       max_by(c.os_version, u.event_ts) AS os_version, max_by(c.model, u.event_ts) AS model
FROM usage u
LEFT JOIN config c
  ON u.device_id = c.device_id AND u.event_ts >= c.valid_from
 AND (c.valid_to IS NULL OR u.event_ts < c.valid_to)
WHERE to_date(u.event_ts) IN ({dates})
GROUP BY u.device_id, to_date(u.event_ts)
"""


def daily_device_usage(spark: SparkSession, root: str, dates: list[str]) -> None:
    """Recompute the derived table for the given dates only."""
    spark.read.format("delta").load(f"{root}/gold/usage").createOrReplaceTempView("usage")
    spark.read.format("delta").load(f"{root}/gold/device_config_history").createOrReplaceTempView("config")
    listed = ", ".join(f"DATE'{d}'" for d in dates)
    daily = spark.sql(DAILY_SQL.format(dates=listed))
    path = f"{root}/gold/daily_device_usage"
    writer = daily.write.format("delta").mode("overwrite")
    if DeltaTable.isDeltaTable(spark, path):
        writer = writer.option("replaceWhere", f"usage_date IN ({listed})")
    else:
        writer = writer.partitionBy("usage_date")
    writer.save(path)
