"""What an orchestration notebook or job calls after reading its parameters.

Notebooks stay thin: they read widgets, call :func:`run_job`, and exit with the JSON it
returns. The same function serves any caller that has parameters as strings.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lakehouse.errors import LakehouseError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

LAYER_CHOICES = {
    "bronze": ("bronze",),
    "silver": ("silver",),
    "gold": ("gold",),
    "all": ("bronze", "silver", "gold"),
}


class PipelineFailedError(LakehouseError):
    """A run finished with status ``failed``; ``summary`` holds the full JSON summary."""

    def __init__(self, summary: dict[str, Any]) -> None:
        self.summary = summary
        super().__init__(f"run {summary['run_id']} failed: {summary['error']}")


def default_conf_dir() -> str:
    """``conf`` beside the working directory locally; the deployed copy on Databricks."""
    if "DATABRICKS_RUNTIME_VERSION" in os.environ:
        return "/dbfs/FileStore/lakehouse/conf"
    return "conf"


def run_job(
    spark: SparkSession | None,
    *,
    pipeline: str,
    env: str = "local",
    layer: str = "all",
    dataset: str = "",
    conf_dir: str = "",
    root: str = "",
    landing: str = "",
    fail_on_error: str | bool = True,
) -> str:
    """Run ``pipeline`` (a name under ``<conf_dir>/pipelines/`` or a YAML path) and return
    the run summary as JSON.

    Parameters arrive as widget strings: empty means "not set" (all datasets, the overlay's
    storage paths, the default conf folder). With ``fail_on_error`` true a failed run raises
    :class:`PipelineFailedError` (so a Databricks job task fails); otherwise the summary's
    ``status`` says ``failed``.
    """
    from lakehouse.config import load_config
    from lakehouse.log import configure_logging
    from lakehouse.pipeline import run_pipeline
    from lakehouse.spark import get_spark

    if layer not in LAYER_CHOICES:
        raise LakehouseError(f"layer {layer!r} is not one of {', '.join(LAYER_CHOICES)}")
    configure_logging()
    path = (
        Path(pipeline)
        if pipeline.endswith((".yml", ".yaml"))
        else (Path(conf_dir or default_conf_dir()) / "pipelines" / f"{pipeline}.yml")
    )
    storage = {k: v for k, v in (("root", root), ("landing", landing)) if v}
    config = load_config(path, env or None, overrides={"storage": storage} if storage else None)
    datasets = [d.strip() for d in dataset.split(",") if d.strip()] or None
    session = spark if spark is not None else get_spark(config.spark)
    summary = run_pipeline(session, config, datasets=datasets, layers=LAYER_CHOICES[layer]).to_dict()
    strict = fail_on_error if isinstance(fail_on_error, bool) else fail_on_error.lower() == "true"
    if strict and summary["status"] != "succeeded":
        raise PipelineFailedError(summary)
    return json.dumps(summary, default=str)
