"""Run Databricks source-format notebooks locally with a ``dbutils`` stand-in."""

from lakehouse.notebooks.dbutils import DBUtils, NotebookExit
from lakehouse.notebooks.errors import (
    DbutilsError,
    InputWidgetNotDefined,
    NotebookError,
    NotebookFormatError,
    NotebookTimeoutError,
    SecretNotFoundError,
)
from lakehouse.notebooks.fs import FileInfo
from lakehouse.notebooks.runner import NotebookResult, display, run_notebook
from lakehouse.notebooks.source import Cell, CellKind, parse_notebook

__all__ = [
    "Cell",
    "CellKind",
    "DBUtils",
    "DbutilsError",
    "FileInfo",
    "InputWidgetNotDefined",
    "NotebookError",
    "NotebookExit",
    "NotebookFormatError",
    "NotebookResult",
    "NotebookTimeoutError",
    "SecretNotFoundError",
    "display",
    "parse_notebook",
    "run_notebook",
]
