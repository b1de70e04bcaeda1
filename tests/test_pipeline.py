"""The pipeline runner and `lakehouse run`: failure isolation, run ledger, --json summary."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from lakehouse.cli import main
from lakehouse.config import load_config
from lakehouse.ledger import read_ledger
from lakehouse.pipeline import run_pipeline


@pytest.fixture()
def pipeline_file(plant: Callable[..., Path]) -> Path:
    return plant()


def test_a_failing_dataset_does_not_stop_the_others_and_the_ledger_records_all(
    spark, pipeline_file: Path
) -> None:
    config = load_config(pipeline_file, None)
    summary = run_pipeline(spark, config, run_id="run-1")

    assert summary.status == "failed"
    outcome = {(r.dataset, r.layer): (r.status, r.rows_read, r.rows_written, r.rows_quarantined)
               for r in summary.results}  # fmt: skip
    assert outcome == {
        ("readings", "bronze"): ("succeeded", 3, 3, 0),
        ("readings", "silver"): ("succeeded", 3, 2, 1),
        ("alarms", "bronze"): ("failed", 0, 0, 0),
        ("alarms", "silver"): ("skipped", 0, 0, 0),
    }
    alarms = summary.result("alarms", "bronze")
    assert alarms is not None and "alarms" in (alarms.error or "")
    assert summary.error is not None and summary.error.startswith("alarms/bronze: ")

    ledger = read_ledger(spark, config).select("run_id", "dataset", "layer", "status", "rows_written")
    assert sorted(tuple(r) for r in ledger.collect()) == sorted(
        ("run-1", d, layer, status, written) for (d, layer), (status, _, written, _) in outcome.items()
    )

    # The library's own log tables take a few appends per run: they checkpoint every 100
    # commits, not every 10, and keep no column statistics. The data tables keep Delta's default.
    def shown(table: str, key: str) -> str | None:
        rows = spark.sql(f"SHOW TBLPROPERTIES delta.`{table}`").collect()
        return {str(r[0]): str(r[1]) for r in rows}.get(key)

    for log_table in (config.storage.runs, config.storage.locks):
        assert shown(log_table, "delta.checkpointInterval") == "100"
        assert shown(log_table, "delta.dataSkippingNumIndexedCols") == "0"
        stats = [json.loads(a["add"]["stats"]) for a in _log_actions(log_table) if "add" in a]
        assert stats and all(set(s) == {"numRecords"} for s in stats), stats
    bronze = config.storage.table("bronze", "readings")
    assert shown(bronze, "delta.checkpointInterval") is None
    assert shown(bronze, "delta.dataSkippingNumIndexedCols") is None
    bronze_stats = [json.loads(a["add"]["stats"]) for a in _log_actions(bronze) if "add" in a]
    assert bronze_stats and all("minValues" in s for s in bronze_stats), bronze_stats


def _log_actions(table: str) -> list[dict]:
    """Every action of the table's commit files (a local path)."""
    return [
        json.loads(line)
        for commit in sorted(Path(table, "_delta_log").glob("*.json"))
        for line in commit.read_text().splitlines()
        if line.strip()
    ]


def test_cli_run_json_summary_and_exit_code(
    spark, pipeline_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["run", "--config", str(pipeline_file), "--env", "", "--dataset", "readings", "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    summary = json.loads(captured.out.strip().splitlines()[-1])
    assert summary["status"] == "succeeded"
    assert set(summary["datasets"]) == {"readings"}
    silver = summary["datasets"]["readings"]["silver"]
    assert (silver["rows_read"], silver["rows_written"], silver["rows_quarantined"]) == (3, 2, 1)

    code = main(["run", "--config", str(pipeline_file), "--env", "", "--json"])
    captured = capsys.readouterr()
    assert code == 1
    last_err = [line for line in captured.err.splitlines() if line.startswith("lakehouse:")]
    assert len(last_err) == 1 and last_err[0].startswith("lakehouse: run failed: alarms/bronze: ")
    again = json.loads(captured.out.strip().splitlines()[-1])
    assert again["datasets"]["readings"]["bronze"]["rows_written"] == 0  # nothing new landed
