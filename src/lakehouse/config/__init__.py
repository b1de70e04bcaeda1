"""Configuration: YAML pipelines, contracts and environment overlays as frozen objects."""

from lakehouse.config.model import (
    DatasetConfig,
    PipelineConfig,
    SourceConfig,
    SparkSettings,
    StorageConfig,
    load_config,
)
from lakehouse.config.node import Node

__all__ = [
    "DatasetConfig",
    "Node",
    "PipelineConfig",
    "SourceConfig",
    "SparkSettings",
    "StorageConfig",
    "load_config",
]
