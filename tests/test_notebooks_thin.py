"""Orchestration notebooks stay thin: widgets in, one library call, JSON out."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from lakehouse.notebooks import parse_notebook

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.py"))


def _dataframe_methods() -> set[str]:
    from pyspark.sql import DataFrame

    # Names a notebook legitimately uses on dbutils / widgets / json are not DataFrame methods.
    return {name for name in dir(DataFrame) if not name.startswith("_")} - {"exit"}


def _code(path: Path) -> str:
    return "\n".join(c.source for c in parse_notebook(path) if c.kind.name == "CODE")


def test_every_layer_has_a_notebook() -> None:
    names = {p.stem for p in NOTEBOOKS}
    assert {"run_bronze", "run_silver", "run_gold", "run_pipeline"} <= names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_thin(path: Path) -> None:
    assert path.read_text().startswith("# Databricks notebook source\n")
    tree = ast.parse(_code(path))
    lines = [line for line in _code(path).splitlines() if line.strip() and not line.strip().startswith("#")]
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
    last = tree.body[-1]
    assert ast.unparse(last).startswith("dbutils.notebook.exit("), "must end with notebook.exit"


def test_pipeline_notebook_rejects_unknown_layer(tmp_path: Path) -> None:
    from lakehouse.notebooks import NotebookError, run_notebook

    with pytest.raises(NotebookError) as info:
        run_notebook(REPO / "notebooks/run_pipeline.py", {"layer": "platinum"})
    assert "cell 2" in str(info.value) and "platinum" in str(info.value)


def test_orchestration_rejects_wrong_config_before_spark(tmp_path: Path) -> None:
    from lakehouse.errors import ConfigError
    from lakehouse.orchestration import run_job

    with pytest.raises(ConfigError, match="file not found"):
        run_job(None, pipeline="nope", conf_dir=str(tmp_path))
