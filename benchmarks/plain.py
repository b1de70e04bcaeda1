"""Plain-Spark baselines and probes that are not a whole medallion job.

* ``load_one_table``: read the usage files with a typed schema, write one Delta table
  (what a user compares any framework with first);
* ``silver_rules``: silver by hand for scenario e: casts plus N rules evaluated in one
  select, valid rows and quarantined rows written to two tables;
* ``first_delta_write``: the first Delta write + read of a new session (session cost probe);
* ``files_holding_keys``: how many files of a table hold one of a set of keys (scenario f).
"""

from __future__ import annotations

from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F  # noqa: N812

USAGE_DDL = (
    "device_id string, event_ts timestamp, app string, cpu_pct double, mem_mb int, "
    "battery_pct int, network string, owner_email string, firmware string"
)


def load_one_table(spark: SparkSession, params: dict[str, Any]) -> dict[str, Any]:
    df = (
        spark.read.option("header", "true")
        .option("timestampFormat", "yyyy-MM-dd HH:mm:ss")
        .schema(USAGE_DDL)
        .csv(f"{params['landing']}/usage/*/*.csv.gz")
        .withColumn("_source_file", F.col("_metadata.file_path"))
    )
    df.write.format("delta").mode("append").save(params["table"])
    return {}


def silver_rules(spark: SparkSession, params: dict[str, Any]) -> dict[str, Any]:
    """Scenario e by hand: the contract's casts and ``params['rules']`` (SQL conditions)."""
    from benchmarks.handwritten import NULL_TOKENS, TS

    bronze = spark.read.format("delta").load(params["bronze"])
    columns: dict[str, str] = params["columns"]  # contract name -> (source) column read
    types: dict[str, str] = params["types"]
    clean = bronze.select(
        *[
            F.when(F.trim(source).isin(NULL_TOKENS), F.lit(None)).otherwise(F.trim(source)).alias(name)
            for name, source in columns.items()
        ],
        "_source_file",
        "_ingested_at",
    )
    typed = clean.select(
        *[_typed(name, types[name], TS).alias(name) for name in columns],
        "_source_file",
        "_ingested_at",
        F.struct(*[F.col(n) for n in columns]).alias("_in"),
    )
    casts = [
        (f"{n} cast", f"_in.`{n}` IS NULL OR `{n}` IS NOT NULL") for n in columns if types[n] != "string"
    ]
    checks = [*casts, *params["rules"]]
    failed = F.array_compact(
        F.array(*[F.when(~F.coalesce(F.expr(sql), F.lit(False)), F.lit(name)) for name, sql in checks])
    )
    rows = typed.withColumn("_reasons", failed)
    if params.get("pii_salt"):
        rows = rows.withColumn("owner_email", F.sha2(F.concat(F.lit(params["pii_salt"]), "owner_email"), 256))
    rows = rows.persist()
    rows.filter(F.size("_reasons") == 0).drop("_reasons", "_in").write.format("delta").save(params["silver"])
    rows.filter(F.size("_reasons") > 0).select(
        "_source_file", "_ingested_at", F.to_json("_in").alias("_raw"), "_reasons"
    ).write.format("delta").save(params["quarantine"])
    rows.unpersist()
    return {}


def _typed(name: str, kind: str, ts_format: str) -> Any:
    if kind == "string":
        return F.col(f"`{name}`")
    if kind == "timestamp":
        return F.expr(f"try_to_timestamp(`{name}`, '{ts_format}')")
    return F.expr(f"try_cast(`{name}` AS {kind})")


def first_delta_write(spark: SparkSession, params: dict[str, Any]) -> dict[str, Any]:
    """The first job of a new session: a Delta write and read back (or a plain count)."""
    if not params.get("delta", True):
        return {"rows": spark.range(10).count()}
    spark.range(10).write.format("delta").save(params["table"])
    return {"rows": spark.read.format("delta").load(params["table"]).count()}


def files_holding_keys(spark: SparkSession, table: str, changes: str, keys: list[str]) -> dict[str, Any]:
    """Live files of ``table`` that hold at least one key of the ``changes`` csv."""
    target: DataFrame = spark.read.format("delta").load(table)
    if "is_current" in target.columns:  # SCD2: only the current version of a key is rewritten
        target = target.filter("is_current")
    changed = (
        spark.read.option("header", "true")
        .csv(changes)
        .select("device_id", F.to_timestamp("event_ts", "yyyy-MM-dd HH:mm:ss").alias("event_ts"))
    )
    holding = (
        target.select(F.col("_metadata.file_path").alias("file"), *keys)
        .join(changed, keys, "left_semi")
        .select("file")
        .distinct()
        .count()
    )
    return {"files_holding_changed_keys": holding}


def files_holding_keys_job(spark: SparkSession, params: dict[str, Any]) -> dict[str, Any]:
    return files_holding_keys(spark, params["table"], params["changes"], ["device_id", "event_ts"])
