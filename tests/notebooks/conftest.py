"""Helpers to write Databricks source-format notebooks into a temporary folder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

HEADER = "# Databricks notebook source\n"
SEPARATOR = "\n# COMMAND ----------\n\n"


def notebook_source(*cells: str) -> str:
    """Databricks source text with one cell per argument."""
    return HEADER + SEPARATOR.join(cell.strip("\n") + "\n" for cell in cells)


@pytest.fixture()
def write_notebook(tmp_path: Path) -> Callable[..., Path]:
    """Write ``tmp_path/<name>`` from cell sources and return its path."""

    def write(name: str, *cells: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(notebook_source(*cells), encoding="utf-8")
        return path

    return write
