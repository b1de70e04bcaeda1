"""`lakehouse status`, `history` and `rerun --failed`, read from the run ledger."""

from __future__ import annotations

import json
import socket
import subprocess
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import pytest

from lakehouse.cli import main
from lakehouse.config import load_config
from lakehouse.io import lease
from lakehouse.ledger import Ledger, read_ledger
from lakehouse.results import LayerResult, RunContext

# readings gets a gold table (merge on sensor, a warn expectation that fails on one row).
GOLD = """
gold:
  table: readings
  mode: merge
  keys: [sensor]
  expectations: [{name: value_small, rule: "value < 2", action: warn}]
"""


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main([*args])
    return code, capsys.readouterr().out


def test_status_history_and_rerun_of_the_failed_layers(
    spark, tmp_path: Path, plant: Callable[..., Path], capsys
) -> None:
    pipeline = plant(GOLD)
    conf = ["--config", str(pipeline), "--env", ""]
    code, out = _cli(capsys, "status", *conf, "--json")
    never = json.loads(out)
    assert code == 0 and {e["status"] for e in never["layers"]} == {"never run"}
    assert never["gold"] == [
        {"dataset": "readings", "table": str(tmp_path / "lake/gold/readings"), "version": None,
         "updated_at": None, "age_s": None, "last_success_run": None, "last_success_at": None}
    ]  # fmt: skip

    # A warn expectation fails on one row: the run succeeds with a warning; --strict exits 1.
    code = main(["run", *conf, "--dataset", "readings", "--run-id", "first", "--strict"])
    out, err = capsys.readouterr()
    assert code == 1
    assert "warnings:\n  - readings/gold: expectation value_small (warn) failed on 1 of 2 rows" in out
    assert "lakehouse: run succeeded with 1 warning(s) and --strict" in err
    assert any(
        line.split()[:3] == ["readings", "gold", "succeeded_with_warnings"] for line in out.splitlines()
    )
    assert _cli(capsys, "run", *conf, "--run-id", "second")[0] == 1  # alarms: no landing folder

    code, out = _cli(capsys, "status", *conf, "--json")
    found = json.loads(out)
    layers = {(e["dataset"], e["layer"]): e for e in found["layers"]}
    assert {k: (e["status"], e["run_id"], e["rows_written"]) for k, e in layers.items()} == {
        ("readings", "bronze"): ("succeeded", "second", 0),  # nothing new since the first run
        ("readings", "silver"): ("succeeded", "second", 0),
        ("readings", "gold"): ("succeeded", "second", 0),
        ("alarms", "bronze"): ("failed", "second", 0),
        ("alarms", "silver"): ("skipped", "second", 0),
    }
    alarms = layers["alarms", "bronze"]
    assert (
        alarms["last_error"]["error_class"] == "IngestionError" and "alarms" in alarms["last_error"]["error"]
    )
    assert 0 <= alarms["age_s"] < 600
    gold_version = max(int(p.stem) for p in (tmp_path / "lake/gold/readings/_delta_log").glob("*.json"))
    (gold,) = found["gold"]
    assert (gold["version"], gold["last_success_run"]) == (gold_version, "second")
    assert 0 <= gold["age_s"] < 600

    code, out = _cli(capsys, "status", *conf)
    assert code == 0
    assert "alarms/bronze (run second): IngestionError: dataset 'alarms'" in out
    assert any(line.split()[:3] == ["readings", "silver", "succeeded"] for line in out.splitlines())

    # rerun --failed runs alarms' bronze and the silver it kept from running, nothing of readings.
    (tmp_path / "landing/alarms").mkdir()
    (tmp_path / "landing/alarms/a.json").write_text('{"code": "A1"}\n{"code": "A2"}\n')
    readings_versions = {
        t: _version(tmp_path, t) for t in ("bronze/readings", "silver/readings", "gold/readings")
    }
    code, out = _cli(capsys, "rerun", *conf, "--failed", "--json")
    assert code == 0, out
    assert "rerunning what failed in run second: alarms: bronze, silver" in out
    summary = json.loads(out.strip().splitlines()[-1])
    assert {d: sorted(layers) for d, layers in summary["datasets"].items()} == {
        "alarms": ["bronze", "silver"]
    }
    assert summary["datasets"]["alarms"]["silver"]["rows_written"] == 2
    assert {t: _version(tmp_path, t) for t in readings_versions} == readings_versions
    assert _cli(capsys, "rerun", *conf, "--failed")[1].startswith("nothing to rerun")

    code, out = _cli(capsys, "history", *conf, "--json", "--last", "1")
    (last,) = json.loads(out)
    assert last["run_id"] == summary["run_id"] and last["status"] == "succeeded"
    code, out = _cli(capsys, "history", *conf, "--json", "--dataset", "readings")
    runs = json.loads(out)
    assert [r["run_id"] for r in runs] == ["second", "first"]  # the rerun did not touch readings
    assert [(x["layer"], x["status"], x["rows_written"]) for x in runs[1]["layers"]] == [
        ("bronze", "succeeded", 3), ("silver", "succeeded", 2), ("gold", "succeeded_with_warnings", 2)
    ]  # fmt: skip
    assert runs[1]["status"] == "succeeded_with_warnings"
    code, out = _cli(capsys, "history", *conf)
    assert f"run {summary['run_id']}: succeeded" in out and "run second: failed" in out


def _version(tmp_path: Path, table: str) -> int:
    return max(int(p.stem) for p in (tmp_path / "lake" / table / "_delta_log").glob("*.json"))


def test_rerun_picks_up_the_layers_a_killed_run_left_running(
    spark, tmp_path: Path, plant: Callable[..., Path], capsys
) -> None:
    pipeline = plant(GOLD)
    conf = ["--config", str(pipeline), "--env", ""]
    config = load_config(pipeline, None)
    assert _cli(capsys, "run", *conf, "--dataset", "readings", "--layer", "bronze")[0] == 0
    # A run whose process died while silver ran (a pid that exited) left it running, and the
    # run lock it held was never given back.
    gone = subprocess.Popen(["true"])
    gone.wait()
    held = lease.current(spark, config.storage.locks, "plant")
    assert held is not None and held.released_ms is not None
    now = lease.now_ms()
    host = socket.gethostname()
    claim = lease.LeaseRow("plant", held.epoch + 1, "ghost", host, gone.pid, now, now + 600_000)
    lease._claim(spark, config.storage.locks, claim)
    ghost = Ledger(spark, config, RunContext("ghost", "plant"), enabled=True)
    ghost.common = (*ghost.common[:3], gone.pid)
    ghost.started(LayerResult("readings", "silver", started_at=datetime.now(timezone.utc)))

    code, out = _cli(capsys, "rerun", *conf, "--failed", "--json")
    assert code == 0, out
    assert "rerunning what failed in run ghost: readings: silver, gold" in out
    assert "earlier run ghost: readings/silver marked abandoned" in out
    summary = json.loads(out.strip().splitlines()[-1])
    assert {d: sorted(layers) for d, layers in summary["datasets"].items()} == {
        "readings": ["gold", "silver"]
    }
    assert summary["datasets"]["readings"]["gold"]["rows_written"] == 2
    state = read_ledger(spark, config).where("run_id = 'ghost'").first()
    assert (state.layer, state.status) == ("silver", "abandoned")
