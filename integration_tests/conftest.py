"""Collect Nutter fixture notebooks as pytest tests and run them with the local runner.

A file ``integration_tests/test_*.py`` in Databricks source format is one Nutter fixture
(`runtime.nutterfixture.NutterFixture`). Locally, pytest runs the notebook once through
``lakehouse.notebooks.run_notebook`` with the shared local Spark session; the notebook ends
with ``result.exit(dbutils)``, whose exit value (Nutter's serialized results) becomes one
pytest item per test case. On Databricks the same notebooks run unchanged with ``nutter run``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

HEADER = "# Databricks notebook source"

# The sample contract hashes owner_email with a salt given by reference; locally the
# reference is this environment variable (on Databricks the dev overlay's secret scope).
os.environ.setdefault("LAKEHOUSE_PII_SALT", "integration-test-salt")
CASE = re.compile(r"^\s+def (?:run|assertion)_(\w+)\(", re.MULTILINE)


def _is_notebook(path: Path) -> bool:
    with path.open(encoding="utf-8") as handle:
        return handle.readline().strip() == HEADER


def pytest_pycollect_makemodule(module_path: Path, parent: pytest.Collector) -> Any:
    if module_path.name.startswith("test_") and _is_notebook(module_path):
        return NutterNotebook.from_parent(parent, path=module_path)
    return None


class NutterCaseError(Exception):
    """A Nutter test case failed inside the fixture notebook."""


class NutterNotebook(pytest.File):
    """One fixture notebook; runs once, reports each test case separately."""

    _results: Any = None
    _error: BaseException | None = None

    def collect(self) -> Any:
        names = sorted(set(CASE.findall(self.path.read_text(encoding="utf-8"))))
        for name in names:
            yield NutterCase.from_parent(self, name=name)

    def results(self) -> Any:
        if self._results is None and self._error is None:
            from common.testresult import TestResults

            from lakehouse.notebooks import run_notebook
            from lakehouse.spark import get_spark

            try:
                outcome = run_notebook(self.path, {}, spark=get_spark(profile="test"))
                if not outcome.exit_value:
                    raise NutterCaseError(f"{self.path.name} did not exit with Nutter results")
                self._results = TestResults().deserialize(outcome.exit_value)
            except BaseException as exc:  # the whole fixture failed: every case reports it
                self._error = exc
        if self._error is not None:
            raise self._error
        return self._results


class NutterCase(pytest.Item):
    """One Nutter test case (its run_/assertion_ pair)."""

    def runtest(self) -> None:
        assert isinstance(self.parent, NutterNotebook)
        results = self.parent.results()
        found = [r for r in results.results if r.test_name == self.name]
        if not found:
            raise NutterCaseError(f"test case {self.name} was not executed by the fixture")
        result = found[0]
        if not result.passed:
            raise NutterCaseError(f"{self.name}: {result.exception!r}\n{result.stack_trace}")

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, NutterCaseError):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"nutter: {self.path.name}::{self.name}"
