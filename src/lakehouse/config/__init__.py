"""Configuration: every declarative spec of a pipeline, parsed from YAML into frozen objects.

Floor 1 (specs): the YAML loader and located nodes, the pipeline / dataset / source / storage
model, contracts and their column rules, expectations, gold and derived table specs. Nothing
here imports Spark or a layer, so ``lakehouse validate-config`` runs without Spark.
"""

from __future__ import annotations

from lakehouse.config.locations import StorageConfig
from lakehouse.config.model import (
    DatasetConfig,
    PipelineConfig,
    SourceConfig,
    load_config,
)
from lakehouse.config.node import Node
from lakehouse.config.settings import RunLockSettings, SparkSettings

__all__ = [
    "DatasetConfig",
    "Node",
    "PipelineConfig",
    "RunLockSettings",
    "SourceConfig",
    "SparkSettings",
    "StorageConfig",
    "load_config",
]
