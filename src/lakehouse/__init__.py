"""lakehouse: medallion (bronze/silver/gold) ETL on Apache Spark and Delta Lake.

What a notebook or a job needs, importable from here::

    from lakehouse import get_spark, load_config, run_pipeline

    config = load_config("conf/pipelines/devices.yml", env="local")
    summary = run_pipeline(get_spark(config.spark), config)

* configuration: :func:`load_config` (no Spark needed);
* running: :func:`run_pipeline`, :func:`get_spark`, and one layer for one dataset with
  :func:`ingest` (bronze), :func:`process` (silver), :func:`publish` (gold) or
  :func:`publish_derived` (a derived gold table);
* pure transforms, ``DataFrame -> DataFrame`` (nothing read, written or counted):
  :func:`to_conformed`, :func:`route` (a bronze batch split into silver and quarantine
  rows), :func:`apply_steps` and the cleansing functions, :func:`scd2_changes`, and
  :func:`evaluate` for expectations;
* errors: :class:`LakehouseError` and its subclasses.

Everything but the errors is imported on first use, so ``import lakehouse`` stays light and
never imports pyspark.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from lakehouse.errors import (
    ConfigError,
    ContractError,
    IngestionError,
    LakehouseError,
    PublishError,
    QualityError,
    SchemaDriftError,
    SecretError,
)

if TYPE_CHECKING:
    from lakehouse.bronze.runner import ingest
    from lakehouse.config import load_config
    from lakehouse.gold.derived import publish_derived
    from lakehouse.gold.runner import publish
    from lakehouse.pipeline import run_pipeline
    from lakehouse.quality.evaluate import evaluate
    from lakehouse.silver.route import route
    from lakehouse.silver.runner import process
    from lakehouse.spark import get_spark
    from lakehouse.transforms.cleanse import (
        dedupe_latest,
        filter_rows,
        rename_columns,
        select_columns,
        to_utc,
        with_derived,
        with_filled,
        with_replaced,
        with_standardized_strings,
    )
    from lakehouse.transforms.conform import to_conformed
    from lakehouse.transforms.scd2 import scd2_changes
    from lakehouse.transforms.steps import apply_steps

__version__ = "0.1.0"

_CLEANSE = (
    "dedupe_latest",
    "filter_rows",
    "rename_columns",
    "select_columns",
    "to_utc",
    "with_derived",
    "with_filled",
    "with_replaced",
    "with_standardized_strings",
)
_LAZY = {
    "load_config": "lakehouse.config",
    "run_pipeline": "lakehouse.pipeline",
    "get_spark": "lakehouse.spark",
    "ingest": "lakehouse.bronze.runner",
    "process": "lakehouse.silver.runner",
    "publish": "lakehouse.gold.runner",
    "publish_derived": "lakehouse.gold.derived",
    "to_conformed": "lakehouse.transforms.conform",
    "route": "lakehouse.silver.route",
    "apply_steps": "lakehouse.transforms.steps",
    "scd2_changes": "lakehouse.transforms.scd2",
    "evaluate": "lakehouse.quality.evaluate",
    **{name: "lakehouse.transforms.cleanse" for name in _CLEANSE},
}

__all__ = [
    "ConfigError",
    "ContractError",
    "IngestionError",
    "LakehouseError",
    "PublishError",
    "QualityError",
    "SchemaDriftError",
    "SecretError",
    "__version__",
    "apply_steps",
    "dedupe_latest",
    "evaluate",
    "filter_rows",
    "get_spark",
    "ingest",
    "load_config",
    "process",
    "publish",
    "publish_derived",
    "rename_columns",
    "route",
    "run_pipeline",
    "scd2_changes",
    "select_columns",
    "to_conformed",
    "to_utc",
    "with_derived",
    "with_filled",
    "with_replaced",
    "with_standardized_strings",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'lakehouse' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
