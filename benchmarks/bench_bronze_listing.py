"""Benchmark: does a bronze run cost track the new files or the history?

For each N, N tiny csv files are already ingested and 10 new files land; the timed part is
one ``ingest`` call (list the folder, load the ledger, diff, plan, read + append 10 files,
commit). The N files are registered in the ledger as a compacted snapshot, the exact state
N ingested files leave behind, so setting up 20,000 files does not need 20,000 file reads.

    .venv/bin/python benchmarks/bench_bronze_listing.py --sizes 1000 10000 20000
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from pyspark.sql import SparkSession

from lakehouse.bronze.checkpoint import Checkpoint
from lakehouse.bronze.listing import diff_files, list_landing
from lakehouse.bronze.runner import ingest
from lakehouse.config import load_config
from lakehouse.config.model import PipelineConfig
from lakehouse.io.state import StateDir
from lakehouse.results import RunContext
from lakehouse.spark import get_spark


def _config(root: Path) -> PipelineConfig:
    source = {"format": "csv", "path": "ds", "schema": "infer", "options": {"header": True}}
    tree = {
        "pipeline": "bench",
        "storage": {"root": str(root / "lake"), "landing": str(root / "landing")},
        "datasets": {"ds": {"source": source}},
    }
    (root / "pipeline.yml").write_text(json.dumps(tree))
    return load_config(root / "pipeline.yml", env=None)


def _land(folder: Path, prefix: str, count: int) -> None:
    for i in range(count):
        day = folder / f"day={i % 30:02d}"
        day.mkdir(parents=True, exist_ok=True)
        (day / f"{prefix}-{i:06d}.csv").write_text(f"id,value\n{prefix}-{i},1\n{prefix}-{i},2\n")


def _seed(spark: SparkSession, config: PipelineConfig, root: Path, existing: int) -> None:
    landing = root / "landing" / "ds"
    _land(landing, "seed", 1)
    ingest(spark, config.dataset("ds"), config, RunContext("seed", "bench"))  # creates table + batch 0
    _land(landing, "old", existing)
    files = [[e.path, e.size, e.mtime] for e in list_landing(spark, str(landing))]
    location = config.storage.checkpoint("bronze", "ds")
    # A ledger snapshot after batch 1 (the layout of lakehouse.bronze.checkpoint).
    StateDir(location).write("ledger/000000000001.json", {"files": files})


def _planning(spark: SparkSession, config: PipelineConfig) -> float:
    """Seconds for the part that sees the whole history: list, load the ledger, diff."""
    source, location = config.dataset("ds").source, config.storage.checkpoint("bronze", "ds")
    start = time.perf_counter()
    state = Checkpoint(location).load()
    diff_files(list_landing(spark, source.path), state.ingested)
    return time.perf_counter() - start


def bench(spark: SparkSession, existing: int, new: int, repeat: int) -> tuple[list[float], float]:
    """Seconds per run adding ``new`` files on top of ``existing`` ingested ones."""
    root = Path(tempfile.mkdtemp(prefix=f"bench-bronze-{existing}-"))
    try:
        config = _config(root)
        _seed(spark, config, root, existing)
        times = []
        for r in range(repeat):
            _land(root / "landing" / "ds", f"new{r}", new)
            planning = _planning(spark, config)
            start = time.perf_counter()
            result = ingest(spark, config.dataset("ds"), config, RunContext(f"r{r}", "bench"))
            times.append(time.perf_counter() - start)
            assert result.files == new and result.rows_written == 2 * new, result
        return times, planning
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 20000])
    parser.add_argument("--new", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    spark = get_spark(profile="test")
    bench(spark, 10, args.new, 1)  # warm up the JVM and Delta
    print(
        f"| files already ingested | new files | run time (median of {args.repeat}) | runs "
        "| list + ledger + diff |"
    )
    print("|---:|---:|---:|---|---:|")
    for size in args.sizes:
        times, planning = bench(spark, size, args.new, args.repeat)
        runs = ", ".join(f"{t:.2f}" for t in times)
        print(
            f"| {size:,} | {args.new} | {statistics.median(times):.2f} s | {runs} | {planning:.2f} s |",
            flush=True,
        )


if __name__ == "__main__":
    main()
