"""Gold layer: cleanse, audit expectations and publish silver rows to business-ready tables.

``publish`` and ``publish_derived`` import Spark lazily so that reading configuration (which
imports ``lakehouse.gold.spec``) never imports pyspark.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

# lakehouse.config imports lakehouse.gold.spec, which imports lakehouse.config.node: loading
# the config package first keeps ``import lakehouse.gold.spec`` free of a circular import.
import lakehouse.config  # noqa: F401

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from lakehouse.config.model import DatasetConfig, PipelineConfig
    from lakehouse.gold.spec import DerivedSpec
    from lakehouse.results import LayerResult, RunContext


def publish(
    spark: SparkSession, dataset: DatasetConfig, config: PipelineConfig, ctx: RunContext
) -> LayerResult:
    """Publish a dataset's new silver rows to its gold table (see ``lakehouse.gold.layer``)."""
    from lakehouse.gold.layer import publish as run

    return run(spark, dataset, config, ctx)


def publish_derived(
    spark: SparkSession, spec: DerivedSpec, config: PipelineConfig, ctx: RunContext
) -> LayerResult:
    """Build a derived gold table from Spark SQL (see ``lakehouse.gold.layer``)."""
    from lakehouse.gold.layer import publish_derived as run

    return run(spark, spec, config, ctx)


__all__ = ["publish", "publish_derived"]
