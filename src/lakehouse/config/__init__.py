"""Configuration: YAML pipelines, contracts and environment overlays as frozen objects.

The model is imported lazily so that ``lakehouse.contracts`` and ``lakehouse.gold.spec``
(which the model itself imports) can use ``lakehouse.config.node`` in any import order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lakehouse.config.node import Node

if TYPE_CHECKING:
    from lakehouse.config.model import (
        DatasetConfig,
        PipelineConfig,
        SourceConfig,
        SparkSettings,
        StorageConfig,
        load_config,
    )

_MODEL_NAMES = {
    "DatasetConfig",
    "PipelineConfig",
    "SourceConfig",
    "SparkSettings",
    "StorageConfig",
    "load_config",
}


def __getattr__(name: str) -> Any:
    if name in _MODEL_NAMES:
        from lakehouse.config import model

        return getattr(model, name)
    raise AttributeError(f"module 'lakehouse.config' has no attribute {name!r}")


__all__ = [
    "DatasetConfig",
    "Node",
    "PipelineConfig",
    "SourceConfig",
    "SparkSettings",
    "StorageConfig",
    "load_config",
]
