"""Count the Spark jobs each layer starts: ``python -m benchmarks.jobcount``.

Runs the sample pipeline (``conf/pipelines/devices.yml``, env ``local``) layer by layer on a
classic local session, first on the 2026-11-01 sample day and then again with nothing new,
and counts the jobs Spark's status tracker saw start during each layer (and the run ledger's
append). Prints a Markdown table (the one in docs/architecture.md); ``--detail`` adds each
job's first stage name (its call site). A measuring tool: it reads the JVM side of the
session, which the library itself never does.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def _jobs(spark: Any) -> int:
    return len(spark.sparkContext.statusTracker().getJobIdsForGroup(None))


def _job_names(spark: Any, since: int) -> list[str]:
    """The first stage name (the call site, e.g. ``save at ...``) of each job after the first ``since``."""
    tracker = spark.sparkContext.statusTracker()
    names = []
    for job_id in sorted(tracker.getJobIdsForGroup(None))[since:]:
        info = tracker.getJobInfo(job_id)
        stages = sorted(info.stageIds) if info else []
        stage = tracker.getStageInfo(stages[0]) if stages else None
        names.append(stage.name if stage else "?")
    return names


Row = tuple[str, str, str, int, int, list[str]]


def _counted(spark: Any, rows: list[Row], labels: tuple[str, str, str], step: Callable[[], int]) -> None:
    before = _jobs(spark)
    written = step()
    rows.append((*labels, _jobs(spark) - before, written, _job_names(spark, before)))


def _one_run(spark: Any, config: Any, run: str, rows: list[Row]) -> None:
    from lakehouse.gold.derived import publish_derived
    from lakehouse.ledger import record_run
    from lakehouse.pipeline import run_pipeline
    from lakehouse.results import RunContext, RunSummary

    summary = RunSummary(run_id=f"jobs-{run}", pipeline=config.name, env=config.env)
    ctx = RunContext(run_id=f"jobs-{run}", pipeline=config.name)

    def layer_step(dataset: str, layer: str) -> int:
        found = run_pipeline(spark, config, datasets=[dataset], layers=[layer], record=False)
        summary.results.extend(found.results)
        return int(found.results[0].rows_written)

    def ledger() -> int:
        record_run(spark, config, ctx, summary)
        return len(summary.results)

    for dataset in config.datasets:
        for layer in ("bronze", "silver", "gold"):
            _counted(spark, rows, (run, dataset, layer), partial(layer_step, dataset, layer))

    def derived(spec: Any) -> int:
        return int(publish_derived(spark, spec, config, ctx).rows_written)

    for spec in config.derived:
        _counted(spark, rows, (run, spec.name, "gold (derived)"), partial(derived, spec))
    _counted(spark, rows, (run, "(all)", "run ledger"), ledger)


def measure(spark: Any, workdir: Path) -> list[Row]:
    """(run, dataset, layer, jobs, rows written, job names) for a first run and a rerun."""
    from lakehouse import testing
    from lakehouse.config import load_config

    os.environ.setdefault("LAKEHOUSE_PII_SALT", "jobcount-salt")
    storage = {"root": str(workdir / "lake"), "landing": str(workdir / "landing")}
    config = load_config(REPO / "conf/pipelines/devices.yml", "local", overrides={"storage": storage})
    testing.land_day("2026-11-01", workdir / "landing", REPO / "samples")
    rows: list[Row] = []
    for run in ("first", "rerun"):
        _one_run(spark, config, run, rows)
    return rows


def compare(spark: Any, workdir: Path, rows: int = 2000) -> list[tuple[str, str, list[int]]]:
    """Jobs per dataset and step of the library and of the hand-written medallion job.

    Both run on the same generated data (``rows`` usage rows in 2 files plus device_config),
    first and then again with nothing new: (dataset, step, [library first, hand-written
    first, library rerun, hand-written rerun]).
    """
    from benchmarks import handwritten
    from benchmarks import handwritten_gold as hand_gold
    from benchmarks.generate import Spec, generate
    from benchmarks.runner import PIPELINE
    from benchmarks.workspace import Workspace
    from lakehouse.config import load_config
    from lakehouse.pipeline import run_pipeline

    os.environ.setdefault("LAKEHOUSE_PII_SALT", "jobcount-salt")
    data = generate(Spec(rows=rows, files=2, seed=20261101, dirty=0.002), root=workdir / "data")
    lib, hand = Workspace(workdir / "library", data), Workspace(workdir / "handwritten", data)
    for ws in (lib, hand):
        ws.land_base()
    storage = {"root": str(lib.lake), "landing": str(lib.landing)}
    config = load_config(PIPELINE, "local", overrides={"storage": storage})
    root, landing = str(hand.lake), str(hand.landing)
    table: dict[tuple[str, str], list[int]] = {}

    def count(key: tuple[str, str], step: Callable[[], object]) -> None:
        before = _jobs(spark)
        step()
        table.setdefault(key, []).append(_jobs(spark) - before)

    for _run in ("first", "rerun"):
        touched: set[str] = set()
        for name in ("usage", "device_config"):
            hand_steps: dict[str, Callable[[], object]] = {
                "bronze": partial(handwritten.bronze, spark, landing, root, name),
                "silver": partial(handwritten.silver, spark, root, name),
                "gold": partial(
                    hand_gold.publish, spark, root, name, {"mode": "merge", "table": "usage"}, touched
                ),
            }
            for layer, hand_step in hand_steps.items():
                count(
                    (name, layer),
                    partial(run_pipeline, spark, config, datasets=[name], layers=[layer], record=False),
                )
                count((name, layer), hand_step)
        derived = config.derived[0]
        count((derived.name, "gold (derived)"), partial(_derived, spark, config, derived))
        count(
            (derived.name, "gold (derived)"),
            partial(hand_gold.daily_device_usage, spark, root, sorted(touched)) if touched else lambda: None,
        )
    return [(dataset, step, jobs) for (dataset, step), jobs in table.items()]


def _derived(spark: Any, config: Any, spec: Any) -> None:
    from lakehouse.gold.derived import publish_derived
    from lakehouse.results import RunContext

    publish_derived(spark, spec, config, RunContext(run_id="jobs", pipeline=config.name))


def main(argv: list[str]) -> int:
    from lakehouse.log import configure_logging
    from lakehouse.spark import get_spark

    os.environ.setdefault("LAKEHOUSE_LOG_FORMAT", "json")
    configure_logging()
    spark = get_spark(profile="test")
    with tempfile.TemporaryDirectory(prefix="lakehouse-jobcount-") as tmp:
        if "--compare" in argv:
            found = compare(spark, Path(tmp))
            spark.stop()
            print("| dataset | layer | library, first run | by hand | library, no-op rerun | by hand |")
            print("|---|---|---:|---:|---:|---:|")
            for dataset, layer, counts in found:
                print(f"| {dataset} | {layer} | " + " | ".join(str(n) for n in counts) + " |")
            return 0
        rows = measure(spark, Path(tmp))
    spark.stop()
    print("| run | dataset | layer | Spark jobs | rows written |")
    print("|---|---|---|---:|---:|")
    for run, dataset, layer, jobs, written, _ in rows:
        print(f"| {run} | {dataset} | {layer} | {jobs} | {written} |")
    if "--detail" in argv:
        for run, dataset, layer, _, _, names in rows:
            print(f"{run} {dataset} {layer}: {'; '.join(names) or '-'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
