"""The lakehouse command without Spark: validate-config, exit codes, one-line causes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lakehouse.cli import main


def test_validate_config_ok(
    sample_pipeline: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAKEHOUSE_PII_SALT", "test-salt")  # the sample hashes a column with it
    assert main(["validate-config", "--config", str(sample_pipeline), "--env", "local", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["pipeline"] == "devices"
    assert info["datasets"] == {
        "usage": ["bronze", "silver", "gold"],
        "device_config": ["bronze", "silver", "gold"],
    }
    assert info["derived"] == ["daily_device_usage"]


def test_bad_config_exits_2_with_one_line_cause(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "p.yml"
    bad.write_text("pipeline: p\ndatasets:\n  a:\n    source: {format: xml}\n")
    assert main(["validate-config", "--config", str(bad), "--env", ""]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("lakehouse: configuration error: ")
    assert "datasets.a.source.format" in err[0] and "'xml'" in err[0]


def test_unknown_dataset_is_a_config_error(sample_pipeline: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run", "--config", str(sample_pipeline), "--env", "local", "--dataset", "nope"])
    assert code == 2
    assert "has no dataset 'nope'" in capsys.readouterr().err


def test_module_entry_point_runs(sample_pipeline: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "lakehouse", "validate-config", "--config", str(sample_pipeline)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "LAKEHOUSE_PII_SALT": "test-salt"},
    )
    assert out.returncode == 0, out.stderr
    assert "usage: bronze -> silver -> gold" in out.stdout


def test_notebook_run_prints_exit_value_and_reports_failing_cell(
    spark, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    notebook = tmp_path / "hello.py"
    notebook.write_text(
        "# Databricks notebook source\n"
        'dbutils.widgets.text("who", "world")\n'
        "# COMMAND ----------\n"
        "rows = spark.range(3).count()\n"
        "dbutils.notebook.exit(f\"hello {dbutils.widgets.get('who')} {rows}\")\n"
    )
    assert main(["notebook", "run", str(notebook), "--param", "who=lakehouse"]) == 0
    assert capsys.readouterr().out.strip() == "hello lakehouse 3"

    notebook.write_text(notebook.read_text().replace("spark.range(3)", "spark.range('x')"))
    assert main(["notebook", "run", str(notebook)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("lakehouse: NotebookError: ")
    assert "cell 2 (rows = spark.range('x').count())" in err[0]
