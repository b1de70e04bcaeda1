"""Run states in the ledger: running and end events per layer, per-layer times, abandoned runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from lakehouse.cli import main
from lakehouse.config import load_config
from lakehouse.errors import PipelineBusyError
from lakehouse.io import lease
from lakehouse.ledger import Ledger, config_hash, library_version, read_events, read_ledger
from lakehouse.operations import status
from lakehouse.pipeline import run_pipeline
from lakehouse.results import LayerResult, RunContext


def _events(spark, config, run_id: str) -> list[tuple[str, str, str]]:
    rows = read_events(spark, config).where(f"run_id = '{run_id}'").orderBy("event_at").collect()
    return [(r.dataset, r.layer, r.status) for r in rows]


def test_each_layer_records_running_then_its_end_state_with_its_own_times(
    spark, tmp_path: Path, plant: Callable[..., Path]
) -> None:
    config = load_config(plant(), None)
    summary = run_pipeline(spark, config, run_id="run-1")
    assert summary.status == "failed"  # alarms has no landing folder

    # alarms/bronze fails before it reads anything (no landing folder): no `running` event
    assert _events(spark, config, "run-1") == [
        ("readings", "bronze", "running"),
        ("readings", "bronze", "succeeded"),
        ("readings", "silver", "running"),
        ("readings", "silver", "succeeded"),
        ("alarms", "bronze", "failed"),
        ("alarms", "silver", "skipped"),
    ]
    state = {(r.dataset, r.layer): r for r in read_ledger(spark, config).collect()}
    assert {k: r.status for k, r in state.items()} == {
        ("readings", "bronze"): "succeeded",
        ("readings", "silver"): "succeeded",
        ("alarms", "bronze"): "failed",
        ("alarms", "silver"): "skipped",
    }
    bronze, silver, alarms = (
        state["readings", "bronze"],
        state["readings", "silver"],
        state["alarms", "bronze"],
    )
    # Each layer has its own times: silver starts after bronze ended, durations match.
    assert bronze.started_at < bronze.finished_at <= silver.started_at < silver.finished_at
    for row in (bronze, silver):
        span = (row.finished_at - row.started_at).total_seconds()
        assert row.duration_s == pytest.approx(span, abs=0.002)
    # What was read and written, by whom, under which configuration.
    assert silver.versions_read == {config.dataset("readings").bronze_path: [0, bronze.table_version]}
    silver_log = (tmp_path / "lake/silver/readings/_delta_log").glob("*.json")
    assert silver.table_version == max(int(p.stem) for p in silver_log)
    assert (silver.rows_read, silver.rows_written, silver.rows_quarantined) == (3, 2, 1)
    assert {r.library_version for r in state.values()} == {library_version()} != {"unknown"}
    assert {r.config_hash for r in state.values()} == {config_hash(config)}
    # A failure carries the error class and its one-line message; success carries none.
    assert alarms.error_class == "IngestionError" and "alarms" in alarms.error and "\n" not in alarms.error
    assert (bronze.error, bronze.error_class) == (None, None)
    assert state["alarms", "silver"].error == "an earlier layer failed"

    # Nothing new to read: no layer starts work, the end states go out in one ledger commit.
    commits = tmp_path / "lake/_lakehouse_runs/_delta_log"
    before = len(list(commits.glob("*.json")))
    run_pipeline(spark, config, run_id="run-2")
    assert _events(spark, config, "run-2") == [
        ("readings", "bronze", "succeeded"),
        ("readings", "silver", "succeeded"),
        ("alarms", "bronze", "failed"),
        ("alarms", "silver", "skipped"),
    ]
    assert len(list(commits.glob("*.json"))) == before + 1

    # The same configuration hashes the same; another one does not.
    assert config_hash(load_config(config.file, None)) == config_hash(config)
    other = load_config(config.file, None, overrides={"storage": {"root": str(tmp_path / "elsewhere")}})
    assert config_hash(other) != config_hash(config)


def test_a_running_layer_of_a_live_process_is_not_abandoned(
    spark, tmp_path: Path, plant: Callable[..., Path]
) -> None:
    config = load_config(plant(), None)
    live = Ledger(spark, config, RunContext("live-run", "plant"), enabled=True)
    live.started(LayerResult("readings", "bronze", status="running"))  # this process: alive
    summary = run_pipeline(spark, config, datasets=["readings"], layers=["bronze"], run_id="next")
    assert summary.abandoned == []
    assert _events(spark, config, "live-run") == [("readings", "bronze", "running")]


def test_a_run_that_finds_the_pipeline_running_writes_no_event(
    spark, tmp_path: Path, plant: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    pipeline = plant()
    config = load_config(pipeline, None)
    run_pipeline(spark, config, datasets=["readings"], layers=["bronze"], run_id="first")
    held = lease.acquire(spark, config.storage.locks, "plant", "holder", duration_s=600)
    try:
        with pytest.raises(PipelineBusyError, match=r"^pipeline plant is already running \(run holder, "):
            run_pipeline(spark, config, datasets=["readings"], run_id="busy", wait=0)
        code = main(["run", "--config", str(pipeline), "--env", "", "--run-id", "busy-cli", "--wait", "0"])
        assert code == 2
        assert "lakehouse: pipeline plant is already running (run holder, " in capsys.readouterr().err
    finally:
        assert held.release() is None

    # Neither locked-out run wrote a running event, nor an end state: the ledger is first's.
    events = read_events(spark, config)
    assert [r.run_id for r in events.select("run_id").distinct().collect()] == ["first"]
    layers = {(e["dataset"], e["layer"]): e for e in status(spark, config)["layers"]}
    assert (layers["readings", "bronze"]["run_id"], layers["readings", "bronze"]["status"]) == (
        "first",
        "succeeded",
    )


@pytest.mark.slow
def test_a_killed_run_stays_running_and_the_next_run_marks_it_abandoned(
    spark, tmp_path: Path, plant: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    pipeline = plant()
    config = load_config(pipeline, None)
    log = tmp_path / "lake/_lakehouse_runs/_delta_log"
    cmd = [sys.executable, "-m", "lakehouse", "run", "--config", str(pipeline), "--env", "",
           "--dataset", "readings", "--run-id", "killed"]  # fmt: skip
    child = subprocess.Popen(
        cmd, env={**os.environ, "LAKEHOUSE_LOG_FORMAT": "json"}, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 600
    try:
        # Ledger commit 0: bronze running; 1: bronze's end and silver running. Kill then.
        while not (log / "00000000000000000001.json").exists():
            assert child.poll() is None, "the run ended before it could be killed"
            assert time.monotonic() < deadline, "silver never started"
            time.sleep(0.02)
    finally:
        os.killpg(child.pid, signal.SIGKILL)  # the driver and its JVM, no cleanup
        child.wait()

    state = {
        (r.dataset, r.layer): r.status
        for r in read_ledger(spark, config).where("run_id = 'killed'").collect()
    }
    assert state == {("readings", "bronze"): "succeeded", ("readings", "silver"): "running"}

    code = main(["run", "--config", str(pipeline), "--env", "", "--dataset", "readings", "--run-id", "after"])
    out = capsys.readouterr().out
    assert code == 0
    assert "earlier run killed: readings/silver marked abandoned" in out
    state = {
        (r.dataset, r.layer): r.status
        for r in read_ledger(spark, config).where("run_id = 'killed'").collect()
    }
    assert state == {("readings", "bronze"): "succeeded", ("readings", "silver"): "abandoned"}
    abandoned = read_ledger(spark, config).where("run_id = 'killed' AND layer = 'silver'").first()
    assert abandoned.error_class == "Abandoned" and abandoned.finished_at is None
    # The rerun did the killed run's work: silver has the readings exactly once.
    assert spark.read.format("delta").load(str(tmp_path / "lake/silver/readings")).count() == 2
    # Marked once: a third run finds nothing left to abandon.
    assert run_pipeline(spark, config, datasets=["readings"], run_id="third").abandoned == []


OLD_SCHEMA = (
    "run_id string, pipeline string, env string, dataset string, layer string, status string, "
    "rows_read long, rows_written long, rows_quarantined long, rows_dropped long, "
    "table_version long, files long, error string, started_at timestamp, finished_at timestamp"
)


def test_a_ledger_written_before_run_states_stays_readable(
    spark, tmp_path: Path, plant: Callable[..., Path]
) -> None:
    config = load_config(plant(), None)
    at = datetime(2026, 1, 2, 3, 4, 5)
    old = [("old-run", "plant", None, "readings", "bronze", "failed", 0, 0, 0, 0, None, None, "boom", at, at)]
    spark.createDataFrame(old, OLD_SCHEMA).write.format("delta").save(config.storage.runs)

    summary = run_pipeline(spark, config, datasets=["readings"], layers=["bronze"], run_id="new-run")
    assert summary.status == "succeeded" and summary.abandoned == []
    state = {r.run_id: r for r in read_ledger(spark, config).collect()}
    assert set(state) == {"old-run", "new-run"}
    assert (state["old-run"].status, state["old-run"].error, state["old-run"].event_at) == (
        "failed",
        "boom",
        None,
    )
    assert state["new-run"].status == "succeeded" and state["new-run"].config_hash == config_hash(config)
    found = status(spark, config)
    bronze = next(e for e in found["layers"] if (e["dataset"], e["layer"]) == ("readings", "bronze"))
    assert (bronze["run_id"], bronze["last_error"]["run_id"]) == ("new-run", "old-run")
