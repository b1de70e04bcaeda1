"""Errors of the local notebook runner and its dbutils stand-in."""

from __future__ import annotations

from lakehouse.errors import LakehouseError


class NotebookFormatError(LakehouseError):
    """A file is not a Databricks source notebook, or uses a magic that cannot run locally."""

    def __init__(self, message: str, *, notebook: str, cell_number: int | None = None) -> None:
        self.notebook = notebook
        self.cell_number = cell_number
        super().__init__(message)


class NotebookError(LakehouseError):
    """A cell of a notebook raised; the cause is chained as ``__cause__``."""

    def __init__(self, notebook: str, cell_number: int, first_line: str, exc: BaseException):
        self.notebook = notebook
        self.cell_number = cell_number
        self.first_line = first_line
        super().__init__(f"{notebook}: cell {cell_number} ({first_line}) failed: {type(exc).__name__}: {exc}")


class NotebookTimeoutError(LakehouseError):
    """A notebook did not finish within its timeout."""

    def __init__(self, notebook: str, timeout_seconds: float) -> None:
        self.notebook = notebook
        self.timeout_seconds = timeout_seconds
        super().__init__(f"notebook {notebook} did not finish within {timeout_seconds:g} seconds")


class DbutilsError(LakehouseError):
    """A dbutils stand-in call was given something Databricks would also reject."""


class InputWidgetNotDefined(DbutilsError):  # noqa: N818 - Databricks' name
    """``dbutils.widgets.get`` asked for a widget that is neither defined nor passed in."""

    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        listed = ", ".join(sorted(known)) or "none"
        super().__init__(f"InputWidgetNotDefined: no input widget named {name!r} (known: {listed})")


class SecretNotFoundError(DbutilsError):
    """A secret is not available in the environment."""

    def __init__(self, scope: str, key: str, variable: str) -> None:
        self.scope = scope
        self.key = key
        self.variable = variable
        super().__init__(f"secret {key!r} in scope {scope!r} not found: set environment variable {variable}")
