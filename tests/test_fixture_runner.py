"""integration_tests/run_fixtures.py, the notebook the bundle's integration job runs.

It must fail its run when any Nutter case fails (a notebook task otherwise succeeds whatever
the fixtures found) and run every fixture that pytest collects.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from lakehouse.notebooks import NotebookError, run_notebook

REPO = Path(__file__).resolve().parents[1]
RUNNER = REPO / "integration_tests" / "run_fixtures.py"
FIXTURE = """# Databricks notebook source
from runtime.nutterfixture import NutterFixture


class Fixture(NutterFixture):
{cases}

# COMMAND ----------

result = Fixture().execute_tests()
result.exit(dbutils)
"""


def _fixture(folder: Path, name: str, cases: str) -> None:
    (folder / f"{name}.py").write_text(FIXTURE.format(cases=cases), encoding="utf-8")


def test_default_list_is_every_fixture_pytest_collects() -> None:
    source = RUNNER.read_text(encoding="utf-8")
    line = next(x for x in source.splitlines() if x.startswith('dbutils.widgets.text("fixtures"'))
    listed = line.split('"')[3].split(",")
    assert sorted(listed) == sorted(p.stem for p in (REPO / "integration_tests").glob("test_*.py"))


def test_a_passing_fixture_is_reported_case_by_case() -> None:
    outcome = run_notebook(RUNNER, {"fixtures": "test_notebook_failure", "timeout_seconds": "120"})
    summary = json.loads(outcome.exit_value or "")
    case = {"fixture": "test_notebook_failure", "case": "failing_notebook_is_reported", "passed": True}
    assert summary == {"passed": 1, "cases": [case]}


def test_a_failing_case_fails_the_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copy(RUNNER, tmp_path / RUNNER.name)
    _fixture(
        tmp_path,
        "test_mixed",
        "    def assertion_holds(self):\n        assert 1 + 1 == 2\n\n"
        "    def assertion_breaks(self):\n        assert 1 + 1 == 3, 'arithmetic changed'\n",
    )
    with pytest.raises(NotebookError) as caught:
        run_notebook(tmp_path / RUNNER.name, {"fixtures": "test_mixed"})
    cause = caught.value.__cause__
    assert isinstance(cause, AssertionError)
    assert str(cause).startswith("1 of 2 Nutter case(s) failed:")
    assert "test_mixed::breaks" in str(cause) and "arithmetic changed" in str(cause)
    printed = capsys.readouterr().out
    assert "test_mixed::holds passed" in printed and "test_mixed::breaks FAILED" in printed


def test_a_fixture_without_cases_fails_the_run(tmp_path: Path) -> None:
    shutil.copy(RUNNER, tmp_path / RUNNER.name)
    _fixture(tmp_path, "test_empty", "    pass\n")
    with pytest.raises(NotebookError) as caught:
        run_notebook(tmp_path / RUNNER.name, {"fixtures": "test_empty"})
    assert "test_empty: ran no test case" in str(caught.value.__cause__)
