"""What an orchestration notebook or job calls after reading its parameters.

Notebooks stay thin: they read widgets, call :func:`run_job`, and exit with the JSON it
returns. The same function serves any caller that has parameters as strings.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lakehouse.constants import LAYERS
from lakehouse.errors import LakehouseError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

LAYER_CHOICES = {**{layer: (layer,) for layer in LAYERS}, "all": LAYERS}


class PipelineFailedError(LakehouseError):
    """A run finished with status ``failed``; ``summary`` holds the full JSON summary."""

    def __init__(self, summary: dict[str, Any]) -> None:
        self.summary = summary
        super().__init__(f"run {summary['run_id']} failed: {summary['error']}")


class JobFailedError(LakehouseError):
    """``lakehouse-job`` ended with a non-zero exit code; the cause is already on stderr."""


def console_job(argv: Sequence[str] | None = None) -> None:
    """The ``lakehouse-job`` entry point: the ``lakehouse`` command for job runners.

    It takes the same arguments. A runner that calls the entry point function itself (a
    Databricks python wheel task) need not look at the exit code the function returns, so
    this one returns nothing on success and raises :class:`JobFailedError` otherwise: the
    task fails, and the command has printed the one-line cause first.
    """
    from lakehouse.cli import main

    args = list(sys.argv[1:] if argv is None else argv)
    code = main(args)
    if code != 0:
        raise JobFailedError(f"lakehouse {shlex.join(args)} failed with exit code {code}")


def default_conf_dir() -> str:
    """The config folder used when none is given.

    ``$LAKEHOUSE_CONF_DIR`` if set; otherwise ``conf`` in the working directory (a clone of
    the repository) or in its parent: a notebook deployed with the Databricks bundle runs in
    its own workspace-files folder, ``<bundle files>/notebooks``, beside the deployed
    ``conf``. The bundle's jobs pass ``conf_dir`` explicitly (see databricks.yml).
    """
    configured = os.environ.get("LAKEHOUSE_CONF_DIR")
    if configured:
        return configured
    return next((c for c in ("conf", os.path.join("..", "conf")) if os.path.isdir(c)), "conf")


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
    from lakehouse.config.validate import preflight
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
    preflight(config, datasets, LAYER_CHOICES[layer])
    session = spark if spark is not None else get_spark(config.spark)
    summary = run_pipeline(session, config, datasets=datasets, layers=LAYER_CHOICES[layer]).to_dict()
    strict = fail_on_error if isinstance(fail_on_error, bool) else fail_on_error.lower() == "true"
    if strict and summary["status"] != "succeeded":
        raise PipelineFailedError(summary)
    return json.dumps(summary, default=str)
