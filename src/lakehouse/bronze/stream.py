"""Bronze through Databricks Auto Loader (``source.engine`` ``autoloader``, or ``auto`` there).

One ``availableNow`` stream from ``cloudFiles`` into the bronze table, with its checkpoint in
``<checkpoints>/bronze/<dataset>/autoloader``; the rows written are counted from the Delta
commits the stream made. Only Databricks has Auto Loader: outside it the file ledger engine
(:mod:`lakehouse.bronze.runner`) runs, and this module is not exercised by the local tests
beyond its option mapping (:mod:`lakehouse.bronze.autoloader`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyspark.sql import functions as F  # noqa: N812

from lakehouse.bronze.autoloader import options
from lakehouse.constants import BRONZE, FILE_MODIFIED_AT, INGESTED_AT, RUN_ID, SOURCE_FILE
from lakehouse.errors import IngestionError, summary
from lakehouse.io import delta
from lakehouse.io.increments import commits_since
from lakehouse.results import LayerResult, RunContext, working
from lakehouse.silver.pii import protect_bronze

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from lakehouse.config.model import DatasetConfig, PipelineConfig


def ingest_with_autoloader(
    spark: SparkSession,
    dataset: DatasetConfig,
    config: PipelineConfig,
    ctx: RunContext,
    salt: str | None = None,
) -> LayerResult:
    """Load the files Auto Loader has not seen into the bronze table, then stop.

    With ``pii: {at: bronze}`` in the contract, PII columns are protected (``salt`` for
    ``hash``) in the stream, before anything is written, as the file ledger engine does.
    """
    source, table = dataset.source, dataset.bronze_path
    working()  # Auto Loader finds its new files inside the stream: count it as work from here
    location = config.storage.checkpoint(BRONZE, dataset.name) + "/autoloader"
    before = delta.table_version(spark, table)
    stream = (
        spark.readStream.format("cloudFiles")
        .options(**options(source, f"{location}/schema"))
        .load(source.path)
        .select(
            "*",
            F.col("_metadata.file_path").alias(SOURCE_FILE),
            F.col("_metadata.file_modification_time").alias(FILE_MODIFIED_AT),
            F.current_timestamp().alias(INGESTED_AT),
            F.lit(ctx.run_id).alias(RUN_ID),
        )
    )
    if dataset.contract is not None and dataset.contract.pii_at == "bronze":
        stream = protect_bronze(stream, dataset.contract, salt)
    writer = (
        stream.writeStream.format("delta")
        .option("checkpointLocation", f"{location}/stream")
        .option("mergeSchema", str(source.adds_columns).lower())
        .trigger(availableNow=True)
    )
    query = writer.toTable(table) if delta.is_name(table) else writer.start(table)
    try:
        query.awaitTermination()
    except Exception as exc:
        raise IngestionError(f"Auto Loader stream failed: {summary(exc)}", dataset=dataset.name) from exc
    rows = delta.metrics_of(commits_since(spark, table, before), "numOutputRows")
    return LayerResult(
        dataset.name,
        BRONZE,
        rows_read=rows,
        rows_written=rows,
        table_version=delta.table_version(spark, table),
        details={"engine": "autoloader"},
    )
