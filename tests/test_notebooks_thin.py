"""Orchestration notebooks stay thin: widgets in, one library call, JSON out."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from lakehouse.notebooks import parse_notebook

NOTEBOOKS = ("run_bronze", "run_silver", "run_gold", "run_pipeline")
INCLUDES = ("_parameters",)  # shared cells, pulled in with %run


def _dataframe_methods() -> set[str]:
    from pyspark.sql import DataFrame

    # Names a notebook legitimately uses on dbutils / widgets / json are not DataFrame methods.
    return {name for name in dir(DataFrame) if not name.startswith("_")} - {"exit"}


def _code(path: Path) -> str:
    return "\n".join(c.source for c in parse_notebook(path) if c.kind.name == "CODE")


def test_the_notebooks_are_the_ones_checked_here(repo_root: Path) -> None:
    """Every notebook of notebooks/ is checked below: a new one must be added to the lists."""
    assert sorted(p.stem for p in (repo_root / "notebooks").glob("*.py")) == sorted(NOTEBOOKS + INCLUDES)


def _check_thin(path: Path) -> ast.Module:
    """Lakehouse-only imports, no DataFrame calls, at most 40 lines of code."""
    assert path.read_text().startswith("# Databricks notebook source\n")
    code = _code(path)
    tree = ast.parse(code)
    lines = [line for line in code.splitlines() if line.strip() and not line.strip().startswith("#")]
    assert len(lines) <= 40, f"{path.name} has {len(lines)} lines of code"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            assert all(a.name.split(".")[0] == "lakehouse" for a in node.names), ast.unparse(node)
        if isinstance(node, ast.ImportFrom):
            assert (node.module or "").split(".")[0] == "lakehouse", ast.unparse(node)
    called = {
        n.func.attr for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
    }
    assert not called & _dataframe_methods(), f"DataFrame methods used: {called & _dataframe_methods()}"
    return tree


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_is_thin(repo_root: Path, name: str) -> None:
    tree = _check_thin(repo_root / "notebooks" / f"{name}.py")
    last = tree.body[-1]
    assert ast.unparse(last).startswith("dbutils.notebook.exit("), "must end with notebook.exit"
    calls = [ast.unparse(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)]
    assert calls.count("run_job") == 1, "one library call per notebook"


@pytest.mark.parametrize("name", INCLUDES)
def test_shared_include_is_thin_and_does_not_exit(repo_root: Path, name: str) -> None:
    tree = _check_thin(repo_root / "notebooks" / f"{name}.py")
    assert "notebook.exit" not in ast.unparse(tree)


def test_pipeline_notebook_rejects_unknown_layer(repo_root: Path) -> None:
    from lakehouse.notebooks import NotebookError, run_notebook

    with pytest.raises(NotebookError) as info:
        run_notebook(repo_root / "notebooks/run_pipeline.py", {"layer": "platinum"})
    assert "cell 3" in str(info.value) and "platinum" in str(info.value)


def test_orchestration_rejects_wrong_config_before_spark(tmp_path: Path) -> None:
    from lakehouse.errors import ConfigError
    from lakehouse.orchestration import run_job

    with pytest.raises(ConfigError, match="file not found"):
        run_job(None, pipeline="nope", conf_dir=str(tmp_path))


def test_layer_notebook_runs_one_layer_locally(spark, tmp_path: Path, repo_root: Path) -> None:
    import json

    from lakehouse.notebooks import run_notebook

    (tmp_path / "landing" / "events").mkdir(parents=True)
    (tmp_path / "landing" / "events" / "e.csv").write_text("id,kind\n1,a\n2,b\n")
    pipeline = tmp_path / "p.yml"
    pipeline.write_text(
        f'pipeline: p\nstorage: {{root: "{tmp_path / "lake"}", landing: "{tmp_path / "landing"}"}}\n'
        "datasets:\n  events:\n    source: {format: csv, options: {header: true}, schema: infer}\n"
    )
    params = {"pipeline": str(pipeline), "env": "", "dataset": "events"}
    result = run_notebook(repo_root / "notebooks/run_bronze.py", params, spark=spark)
    summary = json.loads(result.exit_value or "{}")
    assert summary["status"] == "succeeded"
    assert list(summary["datasets"]["events"]) == ["bronze"]
    assert summary["datasets"]["events"]["bronze"]["rows_written"] == 2
    assert spark.read.format("delta").load(str(tmp_path / "lake/bronze/events")).count() == 2
