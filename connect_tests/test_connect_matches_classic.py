"""Under Spark Connect the pipeline reports exactly what a classic session reports.

The Connect side is the end-to-end suite itself: ``integration_tests/test_pipeline_e2e.py``
runs the scenarios (first load, second day, same day again, bad file) through the Spark
Connect server and, with ``LAKEHOUSE_E2E_SUMMARIES`` set, keeps each run's summary in that
file. scripts/test-connect.sh sets it and runs the e2e suite before this test, so every
scenario runs once through the server; here the same scenarios run on a classic local session
in a child process and the counts must be equal.

In CI (.ci/run) the classic side is not run again: the main lane runs the same e2e suite on a
classic session of the same checkout with ``LAKEHOUSE_E2E_SUMMARIES`` pointing at a file, and
.ci/run hands that file to this lane as ``LAKEHOUSE_E2E_CLASSIC``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from scenarios import counts


def _connect_runs() -> dict[str, Any]:
    keep = os.environ.get("LAKEHOUSE_E2E_SUMMARIES")
    assert keep, "LAKEHOUSE_E2E_SUMMARIES is not set: run this test with scripts/test-connect.sh"
    path = Path(keep)
    assert path.is_file(), (
        f"{path} is missing: integration_tests/test_pipeline_e2e.py must run first in the same "
        "pytest session (scripts/test-connect.sh runs it)"
    )
    kept: dict[str, Any] = json.loads(path.read_text())
    assert kept["connect"] is True, "the e2e suite ran on a classic session, not through Spark Connect"
    return {name: counts(summary) for name, summary in kept["runs"].items()}


def _kept_classic_runs(path: Path) -> dict[str, Any]:
    assert path.is_file(), f"LAKEHOUSE_E2E_CLASSIC names {path}, which the classic e2e run did not write"
    kept: dict[str, Any] = json.loads(path.read_text())
    assert kept["connect"] is False, f"{path} holds runs through Spark Connect, not a classic session"
    return {name: counts(summary) for name, summary in kept["runs"].items()}


def _classic(workdir: Path) -> dict[str, Any]:
    kept = os.environ.get("LAKEHOUSE_E2E_CLASSIC")
    if kept:
        return _kept_classic_runs(Path(kept))
    env = {k: v for k, v in os.environ.items() if k not in ("SPARK_REMOTE", "SPARK_CONNECT_MODE_ENABLED")}
    done = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("scenarios.py")), str(workdir)],
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_every_scenario_counts_the_same_under_connect_and_classic(tmp_path: Path) -> None:
    remote = _connect_runs()
    assert set(remote) == {"first", "second", "again", "bad"}, sorted(remote)
    classic = _classic(tmp_path / "classic")
    assert remote == classic
    # The comparison is not vacuous: rows flowed, were quarantined, dropped, and a rerun was empty.
    usage = remote["first"]["usage"]
    assert usage["bronze"]["rows_written"] > 0 and usage["silver"]["rows_quarantined"] > 0
    assert usage["gold"]["rows_dropped"] > 0
    assert all(
        layers["silver"]["rows_read"] == 0 for layers in remote["again"].values() if "silver" in layers
    )
    assert remote["bad"]["usage"]["gold"]["status"] == "failed"
