"""Count the Spark jobs each layer starts: ``python -m benchmarks.jobcount``.

Runs the sample pipeline (``conf/pipelines/devices.yml``, env ``local``) layer by layer on a
classic local session, first on the 2026-11-01 sample day and then again with nothing new,
and counts the jobs Spark's status tracker saw start during each layer. Prints a Markdown
table (the one in docs/architecture.md). A measuring tool: it reads the JVM side of the
session, which the library itself never does.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def _jobs(spark: Any) -> int:
    return len(spark.sparkContext.statusTracker().getJobIdsForGroup(None))


def measure(spark: Any, workdir: Path) -> list[tuple[str, str, str, int, int]]:
    """(run, dataset, layer, jobs, rows written) for a first run and a rerun."""
    from lakehouse import testing
    from lakehouse.config import load_config
    from lakehouse.gold.derived import publish_derived
    from lakehouse.pipeline import run_pipeline
    from lakehouse.results import RunContext

    os.environ.setdefault("LAKEHOUSE_PII_SALT", "jobcount-salt")
    storage = {"root": str(workdir / "lake"), "landing": str(workdir / "landing")}
    config = load_config(REPO / "conf/pipelines/devices.yml", "local", overrides={"storage": storage})
    testing.land_day("2026-11-01", workdir / "landing", REPO / "samples")
    rows: list[tuple[str, str, str, int, int]] = []
    for run in ("first", "rerun"):
        for dataset in config.datasets:
            for layer in ("bronze", "silver", "gold"):
                before = _jobs(spark)
                summary = run_pipeline(spark, config, datasets=[dataset], layers=[layer], record=False)
                result = summary.results[0]
                rows.append((run, dataset, layer, _jobs(spark) - before, result.rows_written))
        for spec in config.derived:
            before = _jobs(spark)
            result = publish_derived(
                spark, spec, config, RunContext(run_id=f"jobs-{run}", pipeline=config.name)
            )
            rows.append((run, spec.name, "gold (derived)", _jobs(spark) - before, result.rows_written))
    return rows


def main() -> int:
    from lakehouse.log import configure_logging
    from lakehouse.spark import get_spark

    os.environ.setdefault("LAKEHOUSE_LOG_FORMAT", "json")
    configure_logging()
    spark = get_spark(profile="test")
    with tempfile.TemporaryDirectory(prefix="lakehouse-jobcount-") as tmp:
        rows = measure(spark, Path(tmp))
    spark.stop()
    print("| run | dataset | layer | Spark jobs | rows written |")
    print("|---|---|---|---:|---:|")
    for run, dataset, layer, jobs, written in rows:
        print(f"| {run} | {dataset} | {layer} | {jobs} | {written} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
