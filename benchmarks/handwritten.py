"""Baseline: the medallion job a competent engineer writes by hand in plain PySpark + Delta.

Same domain, same files, same checks as the library's sample pipeline, written directly:

* bronze: a file stream per dataset (``trigger(availableNow=True)`` + checkpoint, so a rerun
  reads only new files) appending the raw strings with ``_source_file`` and ``_ingested_at``;
* silver: a stream over bronze; in ``foreachBatch`` null tokens, casts, the contract's checks
  and duplicate keys in one pass, PII hashed; valid rows to silver, the rest with their
  reasons to a quarantine table;
* gold: a stream over silver; in ``foreachBatch`` the cleansing steps, the expectations as one
  aggregate, the drop rule, then MERGE (usage) or an SCD2 MERGE (device_config);
* derived: ``daily_device_usage`` recomputed for the dates the run touched (``replaceWhere``).

Tables live where the library puts them (``<root>/<layer>/<name>``) so both are counted the
same way from their Delta logs.
"""

from __future__ import annotations

import os
from typing import Any

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F  # noqa: N812

from benchmarks import handwritten_gold as gold
from benchmarks.generate import CONFIG_FIELDS, HEADER

NULL_TOKENS = ["", "NA", "N/A", "null", "NULL"]
USAGE = HEADER.split(",")
CONFIG = ["device_id", "snapshot_ts", *CONFIG_FIELDS]
SOURCES = {"usage": ("csv", USAGE, "*/*.csv.gz"), "device_config": ("json", CONFIG, "*/*.json")}
TS = "yyyy-MM-dd HH:mm:ss"


def run_stream(df: DataFrame, checkpoint: str, *, path: str | None = None, batch: Any = None) -> None:
    """Run a stream over everything new since its checkpoint, then stop."""
    writer = df.writeStream.option("checkpointLocation", checkpoint).trigger(availableNow=True)
    if batch is not None:
        writer.foreachBatch(batch).start().awaitTermination()
    else:
        writer.format("delta").outputMode("append").start(path).awaitTermination()


def bronze(spark: SparkSession, landing: str, root: str, name: str) -> None:
    fmt, columns, pattern = SOURCES[name]
    reader = spark.readStream.format(fmt).schema(", ".join(f"{c} string" for c in columns))
    if fmt == "csv":
        reader = reader.option("header", "true")
    raw = reader.load(f"{landing}/{name}/{pattern}").select(
        "*", F.col("_metadata.file_path").alias("_source_file"), F.current_timestamp().alias("_ingested_at")
    )
    run_stream(raw, f"{root}/_checkpoints/bronze/{name}", path=f"{root}/bronze/{name}")


def _clean(column: str) -> Column:
    text = F.trim(F.col(column))
    return F.when(text.isin(NULL_TOKENS), F.lit(None)).otherwise(text)


def _passes(value: Column, condition: Column) -> Column:
    """A value rule: NULL passes, otherwise the condition must be true (NULL counts as false)."""
    return value.isNull() | F.coalesce(condition, F.lit(False))


def _usage_typed(df: DataFrame) -> DataFrame:
    clean = df.select(*[_clean(c).alias(c) for c in USAGE], "_source_file", "_ingested_at")
    return clean.select(
        "device_id",
        F.expr(f"try_to_timestamp(event_ts, '{TS}')").alias("event_ts"),
        "app",
        F.expr("try_cast(cpu_pct AS double)").alias("cpu_pct"),
        F.expr("try_cast(mem_mb AS int)").alias("mem_mb"),
        F.expr("try_cast(battery_pct AS int)").alias("battery_pct"),
        "network",
        "owner_email",
        "firmware",
        "_source_file",
        "_ingested_at",
        F.struct(*[F.col(c).alias(c) for c in USAGE]).alias("_in"),
    )


def _usage_checks() -> list[tuple[str, Column]]:
    c = F.col
    return [
        ("device_id not_null", c("device_id").isNotNull()),
        ("event_ts not_null", c("_in.event_ts").isNotNull()),
        ("event_ts cast", c("_in.event_ts").isNull() | c("event_ts").isNotNull()),
        ("cpu_pct cast", c("_in.cpu_pct").isNull() | c("cpu_pct").isNotNull()),
        ("mem_mb cast", c("_in.mem_mb").isNull() | c("mem_mb").isNotNull()),
        ("battery_pct cast", c("_in.battery_pct").isNull() | c("battery_pct").isNotNull()),
        ("device_id pattern", _passes(c("device_id"), c("device_id").rlike("^dev-[0-9]{5}$"))),
        ("app max_length", _passes(c("app"), F.length("app") <= 64)),
        ("cpu_pct min/max", _passes(c("cpu_pct"), c("cpu_pct").between(0, 100))),
        ("battery_pct min/max", _passes(c("battery_pct"), c("battery_pct").between(0, 100))),
        ("network allowed", _passes(c("network"), c("network").isin("wifi", "4g", "5g", "offline"))),
    ]


def _config_typed(df: DataFrame) -> DataFrame:
    clean = df.select(*[_clean(c).alias(c) for c in CONFIG], "_source_file", "_ingested_at")
    power = F.lower("power_saving")
    return clean.select(
        "device_id",
        F.expr(f"try_to_timestamp(snapshot_ts, '{TS}')").alias("snapshot_ts"),
        "os_version",
        "model",
        F.when(power.isin("true", "t", "yes", "y", "1"), True)
        .when(power.isin("false", "f", "no", "n", "0"), False)
        .alias("power_saving"),
        F.expr("try_cast(brightness_pct AS int)").alias("brightness_pct"),
        F.from_json("apps_installed", "array<string>").alias("apps_installed"),
        "_source_file",
        "_ingested_at",
        F.struct(*[F.col(c).alias(c) for c in CONFIG]).alias("_in"),
    )


def _config_checks() -> list[tuple[str, Column]]:
    c = F.col
    return [
        ("device_id not_null", c("device_id").isNotNull()),
        ("snapshot_ts not_null", c("_in.snapshot_ts").isNotNull()),
        ("snapshot_ts cast", c("_in.snapshot_ts").isNull() | c("snapshot_ts").isNotNull()),
        ("os_version not_null", c("os_version").isNotNull()),
        ("power_saving cast", c("_in.power_saving").isNull() | c("power_saving").isNotNull()),
        ("brightness_pct cast", c("_in.brightness_pct").isNull() | c("brightness_pct").isNotNull()),
        ("apps_installed cast", c("_in.apps_installed").isNull() | c("apps_installed").isNotNull()),
        ("device_id pattern", _passes(c("device_id"), c("device_id").rlike("^dev-[0-9]{5}$"))),
        ("model allowed", _passes(c("model"), c("model").isin("TX-100", "TX-200", "TX-300"))),
        ("brightness_pct min/max", _passes(c("brightness_pct"), c("brightness_pct").between(0, 100))),
    ]


def checked(typed: DataFrame, checks: list[tuple[str, Column]], keys: list[str]) -> DataFrame:
    """Add ``_reasons`` (failed check names); of rows sharing a key only the latest is clean."""
    failed = F.array_compact(F.array(*[F.when(~ok, F.lit(name)) for name, ok in checks]))
    out = typed.withColumn("_reasons", failed)
    clean = F.size("_reasons") == 0
    latest = Window.partitionBy(clean, *keys).orderBy(F.desc("_ingested_at"), F.desc("_source_file"))
    duplicate = clean & (F.row_number().over(latest) > 1)
    return out.withColumn(
        "_reasons", F.when(duplicate, F.array(F.lit("duplicate_key"))).otherwise(F.col("_reasons"))
    )


def silver_batch(root: str, name: str, salt: str) -> Any:
    typed, checks, keys = {
        "usage": (_usage_typed, _usage_checks(), ["device_id", "event_ts"]),
        "device_config": (_config_typed, _config_checks(), ["device_id", "snapshot_ts"]),
    }[name]

    def write(batch: DataFrame, _: int) -> None:
        rows = checked(typed(batch), checks, keys)
        if name == "usage":  # hash the PII column, in the row and in the raw values kept for quarantine
            email = F.sha2(F.concat(F.lit(salt), F.col("owner_email")), 256)
            rows = rows.withColumns(
                {"owner_email": email, "_in": F.col("_in").withField("owner_email", email)}
            )
        rows = rows.persist()
        good = rows.filter(F.size("_reasons") == 0).drop("_reasons", "_in")
        good.write.format("delta").mode("append").save(f"{root}/silver/{name}")
        bad = rows.filter(F.size("_reasons") > 0).select(
            "_source_file",
            "_ingested_at",
            F.to_json("_in").alias("_raw"),
            "_reasons",
            F.current_timestamp().alias("_quarantined_at"),
        )
        bad.write.format("delta").mode("append").save(f"{root}/silver/{name}_quarantine")
        rows.unpersist()

    return write


def silver(spark: SparkSession, root: str, name: str) -> None:
    salt = os.environ["LAKEHOUSE_PII_SALT"]
    stream = spark.readStream.format("delta").load(f"{root}/bronze/{name}")
    run_stream(stream, f"{root}/_checkpoints/silver/{name}", batch=silver_batch(root, name, salt))


STEPS = ("bronze", "silver", "gold")


def run(spark: SparkSession, params: dict[str, Any]) -> dict[str, Any]:
    """Run the selected steps for the selected datasets, then the derived table."""
    import time

    root, landing = params["root"], params["landing"]
    datasets = params.get("datasets") or ["usage", "device_config"]
    usage_gold = params.get("usage_gold", {"mode": "merge", "table": "usage"})
    steps: dict[str, float] = {}
    touched: set[str] = set()
    for name in datasets:
        for step in params.get("steps") or STEPS:
            start = time.perf_counter()
            if step == "bronze":
                bronze(spark, landing, root, name)
            elif step == "silver":
                silver(spark, root, name)
            elif step == "gold":
                gold.publish(spark, root, name, usage_gold, touched)
            steps[f"{name}/{step}"] = time.perf_counter() - start
    if params.get("derived", True) and touched and set(datasets) >= {"usage", "device_config"}:
        start = time.perf_counter()
        gold.daily_device_usage(spark, root, sorted(touched))
        steps["daily_device_usage"] = time.perf_counter() - start
    return {"steps": steps, "dates_touched": len(touched)}
