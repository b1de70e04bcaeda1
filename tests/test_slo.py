"""`lakehouse check-slo`: freshness and volume SLOs declared in contracts (issue 13 part 3).

One pipeline, run once for the module, holds a dataset per case:

* ``fresh``: newest ``ts`` 10 minutes old, read from gold (pass), 3 rows to silver in 2..10 (pass);
* ``stale``: newest ``day`` 2020-01-02, read from silver (breach), 2 rows, at least 100 wanted (breach);
* ``runs``: freshness of the last successful run, just now, at most 2h (pass);
* ``archive``: its landing folder is gone, so today's run fails; its last success, written
  to the ledger as a run of three days ago, is too old (breach) and wrote 5 rows, at most 3
  allowed (breach);
* ``never``: never succeeded (freshness and volume breach);
* ``plain``: declares no SLO.
"""

from __future__ import annotations

import json
import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from lakehouse.cli import main
from lakehouse.config import load_config
from lakehouse.config.slo import FreshnessSlo, Slo, VolumeSlo
from lakehouse.ledger import Ledger
from lakehouse.pipeline import run_pipeline
from lakehouse.results import LayerResult, RunContext
from lakehouse.slo import BREACH, PASS, Measured, evaluate

NOW = datetime.now(timezone.utc).replace(microsecond=0, tzinfo=None)
# The newest ``ts`` of dataset fresh: ten minutes before the module fixture lands its file
# (set there, not at import: a long suite collects this module well before it runs).
LANDED: dict[str, datetime] = {}
BREACHED = {
    ("stale", "freshness (day)"),
    ("stale", "volume"),
    ("archive", "freshness (last run)"),
    ("archive", "volume"),
    ("never", "freshness (last run)"),
    ("never", "volume"),
}


def _pipeline(root: Path) -> Path:
    landing = root / "landing"
    for name in ("fresh", "stale", "runs"):
        (landing / name).mkdir(parents=True)
    newest = LANDED["fresh_newest"] = datetime.now(timezone.utc).replace(
        microsecond=0, tzinfo=None
    ) - timedelta(minutes=10)
    stamps = [newest - timedelta(minutes=m) for m in (20, 0, 10)]
    lines = [f"s-{i},{1.5 * i},{t:%Y-%m-%d %H:%M:%S}" for i, t in enumerate(stamps)]
    (landing / "fresh" / "f1.csv").write_text("sensor,value,ts\n" + "\n".join(lines) + "\n")
    (landing / "stale" / "s1.csv").write_text("sensor,day\ns-1,2020-01-01\ns-2,2020-01-02\n")
    (landing / "runs" / "r1.json").write_text('{"code": "E1"}\n')
    path = root / "p.yml"
    path.write_text(
        textwrap.dedent(f"""
        pipeline: slo
        storage: {{root: "{root / "lake"}", landing: "{landing}"}}
        datasets:
          fresh:
            source: {{format: csv, path: fresh, options: {{header: true}}}}
            contract:
              columns:
                - {{name: sensor}}
                - {{name: value, type: double}}
                - {{name: ts, type: timestamp, format: "yyyy-MM-dd HH:mm:ss"}}
              slo:
                freshness: {{max_age: 1h, column: ts}}
                volume: {{min_rows: 2, max_rows: 10}}
            gold: {{table: fresh, mode: merge, keys: [sensor]}}
          stale:
            source: {{format: csv, path: stale, options: {{header: true}}}}
            contract:
              columns: [{{name: sensor}}, {{name: day, type: date, format: yyyy-MM-dd}}]
              slo: {{freshness: {{max_age: 26h, column: day}}, volume: {{min_rows: 100}}}}
          runs:
            source: {{format: json, path: runs}}
            contract: {{columns: [{{name: code}}], slo: {{freshness: {{max_age: 2h}}}}}}
          archive:
            source: {{format: json, path: archive}}
            contract:
              columns: [{{name: code}}]
              slo: {{freshness: {{max_age: 1h}}, volume: {{max_rows: 3}}}}
          never:
            source: {{format: json, path: never}}
            contract:
              columns: [{{name: code}}]
              slo: {{freshness: {{max_age: 1d}}, volume: {{min_rows: 1}}}}
          plain:
            source: {{format: json, path: plain}}
            contract: {{columns: [{{name: code}}]}}
        """)
    )
    return path


@pytest.fixture(scope="module")
def pipeline(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = _pipeline(tmp_path_factory.mktemp("slo"))
    config = load_config(path, None)
    summary = run_pipeline(spark, config, run_id="today")
    assert summary.status == "failed"  # archive, never and plain have no landing folder
    old = datetime.now(timezone.utc) - timedelta(days=3)
    ledger = Ledger(spark, config, RunContext("old", "slo", started_at=old), enabled=True)
    end = old + timedelta(minutes=1)
    ledger.finished(
        [
            LayerResult("archive", layer, rows_written=5, started_at=old, finished_at=end)
            for layer in ("bronze", "silver")
        ]
    )
    ledger.flush()
    return path


def _check(capsys: pytest.CaptureFixture[str], pipeline: Path, *more: str) -> tuple[int, str, list[str]]:
    code = main(["check-slo", "--config", str(pipeline), "--env", "", *more])
    out, err = capsys.readouterr()
    return code, out, [line for line in err.splitlines() if line.startswith("lakehouse:")]


def test_check_slo_json_measures_each_slo_and_fails_on_breaches(pipeline: Path, capsys) -> None:
    code, out, err = _check(capsys, pipeline, "--json")
    found = json.loads(out)
    assert code == 1 and found["passed"] is False and found["breached"] == len(BREACHED)
    checks = {(c["dataset"], c["slo"]): c for c in found["checks"]}
    assert {k: c["status"] for k, c in checks.items()} == {
        ("fresh", "freshness (ts)"): PASS,
        ("fresh", "volume"): PASS,
        ("runs", "freshness (last run)"): PASS,
        ("plain", "-"): "none declared",
        **{k: BREACH for k in BREACHED},
    }
    assert {tuple(line.split(": ")[2].split(" ", 1)) for line in err} == BREACHED
    assert len(err) == len(BREACHED)

    fresh = checks["fresh", "freshness (ts)"]
    assert fresh["table"] == str(pipeline.parent / "lake/gold/fresh")  # gold: the newest layer
    newest = LANDED["fresh_newest"]
    assert fresh["newest"] == str(newest) and fresh["bound"] == "<= 1h"
    elapsed = (datetime.now(timezone.utc).replace(tzinfo=None) - newest).total_seconds()
    assert 600 <= fresh["age_s"] <= elapsed + 1
    stale = checks["stale", "freshness (day)"]
    assert stale["table"] == str(pipeline.parent / "lake/silver/stale")  # no gold: silver
    assert stale["newest"] == "2020-01-02 00:00:00"
    since = datetime.now(timezone.utc).replace(tzinfo=None) - datetime(2020, 1, 2)
    assert stale["age_s"] == pytest.approx(since.total_seconds(), abs=900)
    assert (checks["fresh", "volume"]["rows"], checks["fresh", "volume"]["bound"]) == (3, "2..10 rows")
    assert (checks["stale", "volume"]["measured"], checks["stale", "volume"]["bound"]) == (
        "2 rows",
        ">= 100 rows",
    )
    runs = checks["runs", "freshness (last run)"]
    assert runs["run_id"] == "today" and 0 <= runs["age_s"] < 900
    archive = checks["archive", "freshness (last run)"]
    assert archive["run_id"] == "old" and archive["measured"] == "3.0d"
    assert (
        checks["archive", "volume"]["measured"] == "5 rows" and checks["archive", "volume"]["run_id"] == "old"
    )
    assert checks["never", "freshness (last run)"]["measured"] == "never succeeded"
    assert checks["never", "volume"]["measured"] == "never succeeded"


def test_check_slo_table_and_stderr_lines(pipeline: Path, capsys) -> None:
    code, out, err = _check(capsys, pipeline)
    assert code == 1
    rows = {tuple(line.split()[:2]): line.split() for line in out.splitlines()[2:]}
    fresh = rows["fresh", "freshness"]
    assert (fresh[2], fresh[3][-1], fresh[4:]) == ("(ts)", "m", ["<=", "1h", "pass"])  # e.g. 10.2m
    assert rows["plain", "-"][1:] == ["-", "-", "-", "none", "declared"]
    assert rows["stale", "volume"][2:] == ["2", "rows", ">=", "100", "rows", "BREACH"]
    assert "lakehouse: SLO breached: never freshness (last run): never succeeded (bound <= 1d)" in err
    assert "lakehouse: SLO breached: archive volume: 5 rows (bound <= 3 rows)" in err
    assert len(err) == len(BREACHED)


def test_check_slo_of_one_dataset_that_passes_exits_0(pipeline: Path, capsys) -> None:
    code, out, err = _check(capsys, pipeline, "--dataset", "fresh")
    assert (code, err) == (0, [])
    assert [line.split()[-1] for line in out.splitlines()[2:]] == [PASS, PASS]
    code, out, err = _check(capsys, pipeline, "--dataset", "plain", "--json")
    assert (code, err) == (0, [])
    assert json.loads(out)["checks"] == [
        {"dataset": "plain", "slo": "-", "status": "none declared", "measured": "-", "bound": "-"}
    ]


def test_evaluate_bounds_are_inclusive() -> None:
    slo = Slo(FreshnessSlo(3600.0, "1h"), VolumeSlo(min_rows=2, max_rows=2))
    at_bound = Measured("r", NOW - timedelta(hours=1), "r", 2)
    assert [c["status"] for c in evaluate("d", slo, at_bound, NOW)] == [PASS, PASS]
    over = Measured("r", NOW - timedelta(hours=1, seconds=1), "r", 3)
    assert [c["status"] for c in evaluate("d", slo, over, NOW)] == [BREACH, BREACH]
