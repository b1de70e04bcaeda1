"""Under Spark Connect the pipeline reports exactly what a classic session reports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from lakehouse.spark import is_connect
from scenarios import run_scenarios


def _classic(workdir: Path) -> dict[str, Any]:
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


def test_every_scenario_counts_the_same_under_connect_and_classic(spark: Any, tmp_path: Path) -> None:
    assert is_connect(spark)
    remote = run_scenarios(spark, tmp_path / "connect")
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
