"""The output schemas of silver and of its quarantine, stated by one ``select`` each."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyspark.sql import DataFrame
from pyspark.sql import functions as F  # noqa: N812

from lakehouse.silver.checks import REASONS
from lakehouse.silver.pii import silver_column
from lakehouse.transforms.conform import RAW

if TYPE_CHECKING:
    from lakehouse.contracts import Contract


def to_silver(valid: DataFrame, contract: Contract, run_id: str, salt: str | None) -> DataFrame:
    """Contract columns (PII protected, ``drop`` removed), then the lineage columns."""
    columns = [c for c in (silver_column(s, salt) for s in contract.columns) if c is not None]
    lineage = [F.col("_source_file"), F.col("_ingested_at"), F.lit(run_id).alias("_run_id")]
    if contract.rescued_data == "flag":
        lineage.append(F.col("_rescued_data"))
    return valid.select(*columns, *lineage)


def to_quarantine(rejected: DataFrame, run_id: str) -> DataFrame:
    """Lineage, the row's raw bronze values as JSON (PII protected) and its reasons."""
    return rejected.select(
        F.col("_source_file"),
        F.col("_ingested_at"),
        F.lit(run_id).alias("_run_id"),
        F.current_timestamp().alias("_quarantined_at"),
        F.to_json(F.col(RAW)).alias("_raw"),
        F.col(REASONS),
    )
