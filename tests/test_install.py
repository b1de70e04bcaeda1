"""Installed as published: the built wheel with its [spark] extra, in a fresh virtualenv, with
no constraints file, starts a new project and runs it (Delta jars resolved from Maven Central).

pip picks the newest pyspark/delta-spark pair the extra allows; the run must resolve that
pair's own Delta jar. (The fallback to a published stand-in jar for an unpublished delta-spark
is tested in test_spark_jars.py.) Downloads come from pip's cache after ``scripts/setup.sh``;
Ivy's cache holds the jars.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    out = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=1200)
    assert out.returncode == 0, f"{args}: {out.stdout[-2000:]}\n{out.stderr[-4000:]}"
    return out


def _versions(venv: Path, env: dict[str, str]) -> dict[str, str]:
    out = _run([str(venv / "bin/python"), "-m", "pip", "list", "--format", "json"], venv, env)
    return {p["name"].lower().replace("_", "-"): p["version"] for p in json.loads(out.stdout)}


def _new_project_runs(venv: Path, folder: Path, env: dict[str, str]) -> list[dict[str, Any]]:
    """``lakehouse init`` + ``lakehouse run`` on a first start; returns the run's log events."""
    _run([str(venv / "bin/lakehouse"), "init", folder.name], folder.parent, env)
    out = _run([str(venv / "bin/lakehouse"), "run", "--json"], folder, env)
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    assert summary["status"] == "succeeded", summary
    orders = summary["datasets"]["orders"]
    assert [orders[layer]["rows_written"] for layer in ("bronze", "silver", "gold")] == [8, 8, 8]
    assert orders["silver"]["rows_quarantined"] == 0
    # Ivy's ~260-line resolution report stays out of the output.
    assert "resolving dependencies" not in out.stderr and "::::" not in out.stderr, out.stderr[-3000:]
    return [json.loads(line) for line in out.stderr.splitlines() if line.startswith("{")]


def _resolved(events: list[dict[str, Any]]) -> str:
    found = [e for e in events if str(e["event"]).startswith("Delta jars resolved")]
    assert len(found) == 1, [e["event"] for e in events]
    return str(found[0]["package"])


@pytest.mark.slow
def test_wheel_with_spark_extra_installs_and_runs_a_new_project(tmp_path: Path) -> None:
    found = re.search(r'^name = "([^"]+)"', (REPO / "pyproject.toml").read_text(), re.MULTILINE)
    assert found, "pyproject.toml names the distribution"
    dist = found.group(1)
    built = subprocess.run(
        ["bash", str(REPO / "scripts/build-wheel.sh"), "--outdir", str(tmp_path / "dist")],
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stderr
    wheel = Path(built.stdout.strip().splitlines()[-1])  # the script prints the wheel it built
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    # No constraints, no lakehouse settings (LAKEHOUSE_SPARK_JARS would skip resolution).
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAKEHOUSE_", "PIP_", "VIRTUAL_ENV"))}
    env.update(
        PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        LAKEHOUSE_LOG_FORMAT="json",
        LAKEHOUSE_CACHE_DIR=str(tmp_path / "jar-lists"),  # no remembered jar list: a first start
    )
    _run([str(venv / "bin/python"), "-m", "pip", "install", "--quiet", f"{wheel}[spark]"], tmp_path, env)
    versions = _versions(venv, env)
    assert dist.lower() in versions, versions

    package = _resolved(_new_project_runs(venv, tmp_path / "shop", env))
    assert package.endswith(":" + versions["delta-spark"]), (package, versions)
    pair = f"pyspark {versions['pyspark']} + delta-spark {versions['delta-spark']}"
    print(f"\n[spark] extra: {pair} -> {package}")
