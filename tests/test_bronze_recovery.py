"""Exactly-once across crashes: a SIGKILLed run and a lost ledger commit lose and duplicate nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pyspark.sql import functions as F  # noqa: N812

CHILD = """
import sys
from lakehouse.bronze.runner import ingest
from lakehouse.config import load_config
from lakehouse.results import RunContext
from lakehouse.spark import get_spark

config = load_config(sys.argv[1], env=None)
ingest(get_spark(profile="test"), config.dataset("ds"), config, RunContext("killed-run", "t"))
"""


def _land_files(bronze_kit, config, files: int, rows: int) -> None:
    for f in range(files):
        body = "".join(f"{f}-{r},payload-{f}-{r}\n" for r in range(rows))
        bronze_kit.land(config, f"day{f % 3}/part-{f:03d}.csv", "a,b\n" + body)


def _assert_exact(bronze_kit, config, expected: int) -> None:
    table = bronze_kit.table(config)
    assert table.count() == expected
    assert table.select("_source_file", "a").distinct().count() == expected
    per_file = table.groupBy("_source_file").agg(F.count("*").alias("n")).select("n").distinct()
    assert [r[0] for r in per_file.collect()] == [expected // table.select("_source_file").distinct().count()]


@pytest.mark.slow
def test_sigkill_mid_run_then_rerun_neither_loses_nor_duplicates(bronze_kit, spark, tmp_path: Path) -> None:
    config = bronze_kit.config(max_files_per_batch=2)
    _land_files(bronze_kit, config, files=10, rows=7)
    plans = tmp_path / "lake/_checkpoints/bronze/ds/plans"
    env = {**os.environ, "LAKEHOUSE_LOG_FORMAT": "json"}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, config.file],
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 300
    try:
        # Batches 0 and 1 are committed once batch 2 is planned; kill while batch 2 is written.
        while not (plans / "000000000002.json").exists():
            assert child.poll() is None, "the ingesting subprocess ended before it could be killed"
            assert time.monotonic() < deadline, "batch 2 was never planned"
            time.sleep(0.02)
    finally:
        os.killpg(child.pid, signal.SIGKILL)  # the Python driver and its JVM, no cleanup
        child.wait()
    commits = tmp_path / "lake/_checkpoints/bronze/ds/commits"
    assert 1 <= len(list(commits.glob("*.json"))) < 5

    result = bronze_kit.ingest(config, run_id="rerun")
    assert result.details["replayed_batch"] == 2
    _assert_exact(bronze_kit, config, expected=70)
    assert bronze_kit.ingest(config, run_id="again").rows_written == 0
    _assert_exact(bronze_kit, config, expected=70)


def test_batch_in_delta_but_not_in_ledger_is_replayed_without_duplicates(
    bronze_kit, spark, tmp_path: Path
) -> None:
    config = bronze_kit.config(max_files_per_batch=1)
    _land_files(bronze_kit, config, files=2, rows=3)
    bronze_kit.ingest(config)
    before = bronze_kit.version(config)
    # As if the run died after the Delta commit of batch 1 and before its ledger commit.
    (tmp_path / "lake/_checkpoints/bronze/ds/commits/000000000001.json").unlink()
    result = bronze_kit.ingest(config, run_id="rerun")
    assert (result.details["replayed_batch"], result.rows_written) == (1, 0)
    assert bronze_kit.version(config) == before
    _assert_exact(bronze_kit, config, expected=6)


def test_a_batch_another_run_committed_first_is_not_counted_again(
    bronze_kit, spark, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The probe's race: run B reads the table version, run A commits the same batch, B's write
    is skipped by Delta. B must count 0 rows, though a new commit appeared since its read."""
    from lakehouse.bronze import runner

    config = bronze_kit.config(max_files_per_batch=1)
    _land_files(bronze_kit, config, files=2, rows=3)
    first = bronze_kit.ingest(config, run_id="run-a")
    assert first.rows_written == 6
    (tmp_path / "lake/_checkpoints/bronze/ds/commits/000000000001.json").unlink()
    real = runner.delta.table_version
    # B read the version before A's commit of batch 1 (A's commit is the latest one now).
    monkeypatch.setattr(runner.delta, "table_version", lambda s, t: real(s, t) - 1)
    result = bronze_kit.ingest(config, run_id="run-b")
    monkeypatch.undo()
    assert (result.details["replayed_batch"], result.rows_written) == (1, 0)
    _assert_exact(bronze_kit, config, expected=6)
