"""`lakehouse init`: a new project that validates, runs green and whose own tests pass."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lakehouse.cli import main


def test_init_writes_a_project_that_validates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "Sales Orders"
    assert main(["init", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "created pipeline 'sales_orders'" in out
    written = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    assert written == [
        ".gitignore",
        "README.md",
        "conf/contracts/orders.yml",
        "conf/envs/dev.yml",
        "conf/envs/local.yml",
        "conf/envs/prod.yml",
        "conf/pipelines/sales_orders.yml",
        "landing/orders/orders-2026-01-05.csv",
        "notebooks/run_pipeline.py",
        "tests/conftest.py",
        "tests/test_sales_orders.py",
    ]
    for path in folder.rglob("*"):
        if path.is_file():
            assert "{{" not in path.read_text(), path
    pipeline = str(folder / "conf/pipelines/sales_orders.yml")
    assert "docs" in (folder / "conf/contracts/orders.yml").read_text()
    for env in ("local", "dev", "prod"):
        assert main(["validate-config", "--config", pipeline, "--env", env, "--json"]) == 0
        info = json.loads(capsys.readouterr().out)
        assert info["pipeline"] == "sales_orders"
        assert info["datasets"] == {"orders": ["bronze", "silver", "gold"]}
    assert "abfss://" in info["root"]
    assert (folder / "notebooks/run_pipeline.py").read_text().startswith("# Databricks notebook source\n")


def test_init_never_overwrites(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", str(tmp_path), "--name", "first"]) == 0
    contract = tmp_path / "conf/contracts/orders.yml"
    contract.write_text("# mine\n")
    capsys.readouterr()
    assert main(["init", str(tmp_path), "--name", "second"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "would be overwritten" in err[0]
    assert contract.read_text() == "# mine\n"
    assert not (tmp_path / "conf/pipelines/second.yml").exists()
    assert main(["init", str(tmp_path / "x"), "--name", "Bad-Name"]) == 2


def test_init_then_run_succeeds_in_a_temp_dir(
    spark, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LAKEHOUSE_CONFIG", raising=False)
    monkeypatch.delenv("LAKEHOUSE_ROOT", raising=False)
    monkeypatch.delenv("LAKEHOUSE_LANDING", raising=False)
    assert main(["init"]) == 0
    capsys.readouterr()
    # no --config: the project's only pipeline is the default
    assert main(["run", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["status"] == "succeeded" and summary["pipeline"] == tmp_path.name.lower().replace("-", "_")
    orders = summary["datasets"]["orders"]
    assert [orders[layer]["rows_written"] for layer in ("bronze", "silver", "gold")] == [8, 8, 8]
    assert orders["silver"]["rows_quarantined"] == 0
    gold = spark.read.format("delta").load(str(tmp_path / "_lakehouse/gold/orders"))
    assert gold.count() == 8 and gold.filter("gift").count() == 2

    # The notebook runs the same pipeline (nothing new landed, so nothing is written).
    assert main(["notebook", "run", "notebooks/run_pipeline.py", "--param", "env=local"]) == 0
    exit_value = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert exit_value["status"] == "succeeded"
    assert exit_value["datasets"]["orders"]["bronze"]["rows_written"] == 0


@pytest.mark.slow
def test_the_new_projects_own_tests_pass(tmp_path: Path) -> None:
    assert main(["init", str(tmp_path / "shop")]) == 0
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "tests", "-q", "-p", "no:cacheprovider"],
        cwd=tmp_path / "shop",
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "2 passed" in out.stdout
