"""One run at a time per pipeline: the lease in ``<root>/_lakehouse_locks``.

The probe of issue 16 ran the same pipeline twice at once: the second run died on Delta's own
``DELTA_PROTOCOL_CHANGED`` and both counted the same bronze batch. Here two real processes race
for the lock; one runs, the other exits 2 with "pipeline X is already running (run R, started
T, host H)". A run killed with SIGKILL leaves a lease that expires instead of a locked pipeline.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from lakehouse.config import load_config
from lakehouse.errors import PipelineBusyError
from lakehouse.io import delta, lease

# A real `lakehouse run` in its own process. Test-only hooks: it starts Spark first and waits at
# a file barrier (so both processes race for the lock, not for a JVM), and every layer waits
# for the file `go` (so the winner is still running when the loser looks).
RUNNER = textwrap.dedent(
    """
    import pathlib, sys, time
    config, ready, go = sys.argv[1], pathlib.Path(sys.argv[2]), pathlib.Path(sys.argv[-1])
    others = sys.argv[3:-1]
    from lakehouse.spark import get_spark
    get_spark(profile="test")
    import lakehouse.pipeline as pipeline
    real = pipeline._layer_function
    def held(layer):
        fn = real(layer)
        def run(*args):
            while not go.exists():
                time.sleep(0.2)
            return fn(*args)
        return run
    pipeline._layer_function = held
    ready.touch()
    while not all(pathlib.Path(o).exists() for o in others):
        time.sleep(0.05)
    from lakehouse.cli import main
    sys.exit(main(["run", "--config", config, "--env", "", "--json"]))
    """
)


def _pipeline(tmp_path: Path, lease_duration: str = "10m") -> Path:
    landing = tmp_path / "landing" / "readings"
    landing.mkdir(parents=True)
    (landing / "r1.csv").write_text("sensor,value\ns-1,1.5\ns-2,2.5\ns-3,3.5\n")
    path = tmp_path / "p.yml"
    path.write_text(
        json.dumps(
            {
                "pipeline": "plant",
                "storage": {"root": str(tmp_path / "lake"), "landing": str(tmp_path / "landing")},
                "run_lock": {"lease": lease_duration},
                "datasets": {
                    "readings": {
                        "source": {"format": "csv", "path": "readings", "options": {"header": True}},
                        "contract": {"columns": [{"name": "sensor"}, {"name": "value", "type": "double"}]},
                    }
                },
            }
        )
    )
    return path


def _start(tmp_path: Path, config: Path, name: str, others: list[str]) -> subprocess.Popen[str]:
    env = {**os.environ, "LAKEHOUSE_LOG_FORMAT": "json"}
    args = [str(config), str(tmp_path / f"ready-{name}"), *[str(tmp_path / f"ready-{o}") for o in others]]
    return subprocess.Popen(
        [sys.executable, "-c", RUNNER, *args, str(tmp_path / "go")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _wait_any(procs: dict[str, subprocess.Popen[str]], timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, proc in procs.items():
            if proc.poll() is not None:
                return name
        time.sleep(0.5)
    for proc in procs.values():
        proc.kill()
    raise AssertionError("no run finished in time")


@pytest.mark.slow
def test_two_concurrent_runs_give_one_success_and_one_clear_already_running(spark, tmp_path: Path) -> None:
    config_file = _pipeline(tmp_path)
    procs = {"a": _start(tmp_path, config_file, "a", ["b"]), "b": _start(tmp_path, config_file, "b", ["a"])}
    loser = _wait_any(procs, timeout=900)  # a hang guard: two JVMs start on a loaded machine
    _, err = procs[loser].communicate()
    (tmp_path / "go").touch()
    winner = "b" if loser == "a" else "a"
    win_out, win_err = procs[winner].communicate(timeout=300)

    assert procs[loser].returncode == 2, err
    line = next(ln for ln in err.splitlines() if ln.startswith("lakehouse:"))
    summary = json.loads(win_out.strip().splitlines()[-1])
    print(f"run {loser}: exit {procs[loser].returncode}: {line}")
    print(f"run {winner}: exit {procs[winner].returncode}: {summary['status']}, run {summary['run_id']}")
    assert line.startswith(
        f"lakehouse: pipeline plant is already running (run {summary['run_id']}, started 20"
    )
    assert line.endswith(f", host {socket.gethostname()})")
    assert "Traceback" not in err and "DELTA_" not in err
    assert procs[winner].returncode == 0, win_err
    assert summary["status"] == "succeeded"

    # Exactly one run wrote: the rows once, one run in the ledger, the lease given back.
    config = load_config(config_file, None)
    assert spark.read.format("delta").load(config.dataset("readings").bronze_path).count() == 3
    ledger = spark.read.format("delta").load(config.storage.runs)
    assert [r.run_id for r in ledger.select("run_id").distinct().collect()] == [summary["run_id"]]
    held = lease.current(spark, config.storage.locks, "plant")
    assert held is not None and held.run_id == summary["run_id"] and held.released_ms is not None


@pytest.mark.slow
def test_a_killed_run_does_not_lock_the_pipeline(spark, tmp_path: Path) -> None:
    config_file = _pipeline(tmp_path, lease_duration="10m")
    config = load_config(config_file, None)
    crashed = _start(tmp_path, config_file, "a", [])
    deadline = time.monotonic() + 300
    while (held := lease.current(spark, config.storage.locks, "plant")) is None:
        assert crashed.poll() is None and time.monotonic() < deadline, (
            crashed.stderr and crashed.stderr.read()
        )
        time.sleep(0.5)
    crashed.send_signal(signal.SIGKILL)
    crashed.wait()
    assert held.released_ms is None and held.live(lease.now_ms())

    # Its process is gone on this host: the next run takes over at once, not after 10 minutes.
    taken = lease.acquire(spark, config.storage.locks, "plant", "run-2", duration_s=600)
    assert (taken.row.epoch, taken.row.run_id) == (held.epoch + 1, "run-2")
    assert taken.release() is None


def test_a_lease_of_another_host_is_respected_until_it_expires(spark, tmp_path: Path) -> None:
    path = str(tmp_path / "locks")
    start = lease.now_ms()
    # The far run renewed once, then stopped: its lease runs out 15 s after the claim.
    expiry = start + 15_000
    elsewhere = lease.LeaseRow("p", 1, "run-far", "other-host", 1, start, start + 5_000)
    lease._claim(spark, path, elsewhere)
    assert lease._from_log(path, "p") == (True, elsewhere)  # read from the commit files
    # The renewal as a release before the commit metadata wrote it: the commit files can no
    # longer tell, so the lease is read with Spark.
    renewal = dataclasses.replace(elsewhere, expires_ms=expiry)
    delta.append(spark, spark.createDataFrame([dataclasses.astuple(renewal)], lease.LOCK_SCHEMA), path)
    assert lease._from_log(path, "p") == (False, None)
    assert lease.current(spark, path, "p") == renewal
    with pytest.raises(
        PipelineBusyError,
        match=re.escape("pipeline p is already running (run run-far, started ") + r".*, host other-host\)$",
    ):
        lease.acquire(spark, path, "p", "run-2", duration_s=60)
    assert lease.now_ms() < expiry, "the machine was too slow to see the lease live"
    # A waiting run takes it once it ran out.
    taken = lease.acquire(spark, path, "p", "run-2", duration_s=60, wait_s=120)
    assert taken.row.epoch == 2 and lease.now_ms() >= expiry
    assert taken.release() is None


def test_racing_claims_of_one_epoch_are_decided_by_the_first_in_the_log(spark, tmp_path: Path) -> None:
    path = str(tmp_path / "locks")
    start = lease.now_ms()
    # run-a and run-b both read the lease from an empty log (newest version -1) and claim
    # epoch 1; run-b's blind append lands second, after run-a's first renewal.
    first = lease.LeaseRow("p", 1, "run-a", "other-host", 1, start, start + 600_000)
    late = lease.LeaseRow("p", 1, "run-b", "other-host", 2, start, start + 600_000)
    lease._claim(spark, path, first, after=-1)
    renewed = dataclasses.replace(first, expires_ms=start + 900_000)
    lease._note(spark, path, first, expires_ms=renewed.expires_ms)
    lease._claim(spark, path, late, after=-1)
    # Every reader names run-a, with its renewal folded in.
    assert lease._from_log(path, "p") == (True, renewed)
    with pytest.raises(PipelineBusyError, match=r"^pipeline p is already running \(run run-a, started "):
        lease.acquire(spark, path, "p", "run-c", duration_s=60)
    # A claim of the next epoch after run-a released, made from the log: taken by run-c.
    lease._note(spark, path, renewed, released_ms=lease.now_ms())
    taken = lease.acquire(spark, path, "p", "run-c", duration_s=600)
    assert (taken.row.epoch, taken.row.run_id, taken.handed_over) == (2, "run-c", True)
    assert taken.release() is None
    after = lease.current(spark, path, "p")
    assert after is not None and (after.epoch, after.run_id) == (2, "run-c") and after.released_ms is not None
    # No claim, acquire's included, used Delta's transaction ids (no txn action: blind appends).
    assert not any('"txn"' in f.read_text() for f in (Path(path) / "_delta_log").glob("*.json"))


@pytest.mark.slow
def test_lease_is_exclusive_renewed_released_and_lost_when_taken_over(
    spark, tmp_path: Path, monkeypatch
) -> None:
    path = str(tmp_path / "locks")
    monkeypatch.setattr(lease, "FORGET_EVERY", 1)  # prune on every take, checked at the end
    # Leases long enough that a loaded machine (seconds per Delta commit) keeps them live.
    first = lease.acquire(spark, path, "p", "run-1", duration_s=300)
    with pytest.raises(PipelineBusyError, match=r"^pipeline p is already running \(run run-1, started "):
        lease.acquire(spark, path, "p", "run-2", duration_s=300)
    other = lease.acquire(spark, path, "q", "run-3", duration_s=4)  # another pipeline is independent
    # q's background renewal (every second) pushes its expiry ahead.
    deadline = time.monotonic() + 120
    while lease.current(spark, path, "q").expires_ms <= other.row.expires_ms:  # type: ignore[union-attr]
        assert time.monotonic() < deadline, "the lease was never renewed"
        time.sleep(1)
    other.release()  # its 4 s lease may have run out under load; only p matters below
    time.sleep(1.1)
    first.renew()
    assert lease.current(spark, path, "p").expires_ms > first.row.expires_ms  # type: ignore[union-attr]
    with pytest.raises(PipelineBusyError):
        lease.acquire(spark, path, "p", "run-2", duration_s=300)
    assert first.release() is None
    assert not first.handed_over  # the first epoch: no earlier holder gave it back
    released = lease.current(spark, path, "p")
    assert released is not None and released.run_id == "run-1" and released.released_ms is not None
    # A holder that stops renewing (a stalled process) loses the lease to the next run once
    # it expires (a short lease whose renewal is stopped at once).
    second = lease.acquire(spark, path, "p", "run-2", duration_s=3)
    assert (second.row.epoch, second.row.run_id) == (first.row.epoch + 1, "run-2")
    assert second.handed_over  # run-1 gave it back: no killed run to look for
    second._stop.set()
    second._thread.join()
    third = lease.acquire(spark, path, "p", "run-3", duration_s=300, wait_s=120)
    assert lease.now_ms() >= second.row.expires_ms
    assert second.release() is not None and "taken over" in str(second.lost)
    assert not third.handed_over  # taken from a holder that stopped renewing
    assert third.release() is None
    # The commit files and Spark's read of the table agree, pruning (a DELETE) included.
    for pipeline in ("p", "q"):
        assert lease._from_log(path, pipeline) == (True, lease._from_table(spark, path, pipeline))
    rows = spark.read.format("delta").load(path).where("pipeline = 'p'").collect()
    # older epochs pruned; the claim and the release of the last one stay
    assert {(r.epoch, r.run_id) for r in rows} == {(third.row.epoch, "run-3")} and len(rows) == 2
