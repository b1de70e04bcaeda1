"""run_notebook executes Databricks source notebooks locally, as a Databricks job would."""

from __future__ import annotations

import logging
import time
import traceback
from pathlib import Path

import pytest

from lakehouse.errors import LakehouseError
from lakehouse.notebooks import (
    CellKind,
    DbutilsError,
    InputWidgetNotDefined,
    NotebookError,
    NotebookFormatError,
    NotebookTimeoutError,
    parse_notebook,
    run_notebook,
)

ECHO_ENV = """
dbutils.widgets.text("env", "dev", "Environment")
dbutils.notebook.exit(dbutils.widgets.get("env"))
"""


def test_widget_default_used_without_params(write_notebook) -> None:
    nb = write_notebook("echo.py", ECHO_ENV)
    assert run_notebook(nb).exit_value == "dev"


def test_passed_param_wins_over_widget_default(write_notebook) -> None:
    nb = write_notebook("echo.py", ECHO_ENV)
    assert run_notebook(nb, {"env": "prod"}).exit_value == "prod"


def test_get_all_and_remove_all(write_notebook) -> None:
    nb = write_notebook(
        "all.py",
        """
dbutils.widgets.text("a", "1")
dbutils.widgets.dropdown("b", "x", ["x", "y"])
values = dbutils.widgets.getAll()
dbutils.widgets.removeAll()
dbutils.notebook.exit(repr(sorted(values.items())))
""",
        'dbutils.widgets.get("a")',
    )
    result = run_notebook(nb, {"b": "y"})
    assert result.exit_value == "[('a', '1'), ('b', 'y')]"


def test_unknown_widget_error_names_it(write_notebook) -> None:
    nb = write_notebook("nb.py", 'dbutils.widgets.text("env", "dev")', 'dbutils.widgets.get("ennv")')
    with pytest.raises(NotebookError) as info:
        run_notebook(nb)
    assert isinstance(info.value.__cause__, InputWidgetNotDefined)
    assert "'ennv'" in str(info.value) and "env" in str(info.value)
    assert info.value.cell_number == 2


@pytest.mark.parametrize(
    ("default", "params"),
    [("daily", {"mode": "weekly"}), ("yearly", None)],
    ids=["passed-value", "default"],
)
def test_dropdown_rejects_value_outside_choices(write_notebook, default, params) -> None:
    nb = write_notebook("nb.py", f'dbutils.widgets.dropdown("mode", "{default}", ["daily", "hourly"])')
    with pytest.raises(NotebookError) as info:
        run_notebook(nb, params)
    assert isinstance(info.value.__cause__, DbutilsError)
    assert "'mode'" in str(info.value) and "hourly" in str(info.value)


def test_dropdown_accepts_a_listed_value(write_notebook) -> None:
    nb = write_notebook(
        "nb.py",
        'dbutils.widgets.dropdown("mode", "daily", ["daily", "hourly"])',
        'dbutils.notebook.exit(dbutils.widgets.get("mode"))',
    )
    assert run_notebook(nb, {"mode": "hourly"}).exit_value == "hourly"


def test_exit_stops_the_notebook_and_returns_its_value(write_notebook) -> None:
    nb = write_notebook(
        "nb.py",
        "x = 41",
        """
try:
    dbutils.notebook.exit({"rows": x + 1})
except Exception:
    raise AssertionError("exit must not be catchable as an Exception")
""",
        'raise AssertionError("a cell after exit ran")',
    )
    result = run_notebook(nb)
    assert result.exit_value == "{'rows': 42}"
    assert result.cells_run == 2
    assert result.notebook == str(nb)


def test_notebook_without_exit_has_no_exit_value(write_notebook) -> None:
    result = run_notebook(write_notebook("nb.py", "a = 1", "b = a + 1"))
    assert result.exit_value is None
    assert result.cells_run == 2


def test_failing_third_cell_reports_notebook_cell_and_first_line(write_notebook) -> None:
    nb = write_notebook(
        "jobs/load.py",
        "# MAGIC %md\n# MAGIC # Load",
        "rows = [1, 2]",
        "\n# why: check the input\ntotal = sum(rows)\nratio = total / 0\n",
        "never = True",
    )
    with pytest.raises(NotebookError) as info:
        run_notebook(nb)
    err = info.value
    assert isinstance(err, LakehouseError)
    assert (err.notebook, err.cell_number, err.first_line) == (
        str(nb),
        3,
        "# why: check the input",
    )
    assert str(err) == (f"{nb}: cell 3 (# why: check the input) failed: ZeroDivisionError: division by zero")
    assert isinstance(err.__cause__, ZeroDivisionError)
    frames = traceback.extract_tb(err.__cause__.__traceback__)
    assert frames[-1].filename == f"{nb}#cell3"
    assert frames[-1].line == "ratio = total / 0"


def test_syntax_error_names_the_cell(write_notebook) -> None:
    nb = write_notebook("nb.py", "a = 1", "def broken(:")
    with pytest.raises(NotebookError, match=r"cell 2 \(def broken\(:\) failed: SyntaxError"):
        run_notebook(nb)


def test_markdown_cells_are_skipped_but_counted(write_notebook) -> None:
    nb = write_notebook(
        "nb.py",
        "# MAGIC %md\n# MAGIC ## Title\n# MAGIC Some *text*",
        "value = 1",
        "# MAGIC %md-sandbox\n# MAGIC <b>note</b>",
        "dbutils.notebook.exit(str(value))",
    )
    kinds = [c.kind for c in parse_notebook(nb)]
    assert kinds == [CellKind.MARKDOWN, CellKind.CODE, CellKind.MARKDOWN, CellKind.CODE]
    result = run_notebook(nb)
    assert (result.exit_value, result.cells_run) == ("1", 2)


def test_pip_cell_is_skipped_with_a_log_note(write_notebook, caplog) -> None:
    nb = write_notebook("nb.py", "# MAGIC %pip install nothing-of-this-name==0.0", "ok = 1")
    with caplog.at_level(logging.INFO, logger="lakehouse.notebooks"):
        result = run_notebook(nb)
    assert result.cells_run == 1
    assert "%pip install nothing-of-this-name" in caplog.text


@pytest.mark.parametrize("magic", ["%sql", "%scala", "%sh"])
def test_other_magics_are_rejected_naming_notebook_and_cell(write_notebook, magic) -> None:
    nb = write_notebook("nb.py", "ran = True", f"# MAGIC {magic}\n# MAGIC select 1")
    with pytest.raises(NotebookFormatError) as info:
        run_notebook(nb)
    assert str(nb) in str(info.value) and "cell 2" in str(info.value) and magic in str(info.value)
    assert info.value.cell_number == 2


def test_non_notebook_file_is_rejected(tmp_path: Path) -> None:
    plain = tmp_path / "script.py"
    plain.write_text("print('hello')\n")
    with pytest.raises(NotebookFormatError, match="not a Databricks source notebook"):
        run_notebook(plain)


def test_missing_notebook_is_reported(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nope"):
        run_notebook(tmp_path / "nope")


def test_percent_run_shares_the_namespace(write_notebook) -> None:
    write_notebook(
        "lib/helpers.py",
        "def double(x):\n    return 2 * x",
        "seen_by_lib = caller_value",
        "# MAGIC %run ./more",
    )
    write_notebook("lib/more.py", "from_more = 'more'")
    nb = write_notebook(
        "main.py",
        "caller_value = 5",
        "# MAGIC %run ./lib/helpers",
        "dbutils.notebook.exit(f'{double(seen_by_lib)} {from_more}')",
    )
    assert run_notebook(nb).exit_value == "10 more"


def test_percent_run_error_names_the_included_notebook(write_notebook) -> None:
    inc = write_notebook("inc.py", "ok = 1", "boom = 1 / 0")
    nb = write_notebook("main.py", "# MAGIC %run ./inc.py")
    with pytest.raises(NotebookError) as info:
        run_notebook(nb)
    assert (info.value.notebook, info.value.cell_number) == (str(inc), 2)


def test_percent_run_of_missing_notebook_fails_its_cell(write_notebook) -> None:
    nb = write_notebook("main.py", "a = 1", "# MAGIC %run ./absent")
    with pytest.raises(NotebookError, match=r"cell 2 \(%run ./absent\) failed: FileNotFoundError"):
        run_notebook(nb)


def test_notebook_run_passes_arguments_and_returns_exit_value(write_notebook) -> None:
    write_notebook(
        "children/child.py",
        'dbutils.widgets.text("n", "0")',
        "leaked = 'parent_only' in globals()",
        "dbutils.notebook.exit(f\"{int(dbutils.widgets.get('n')) * 2} leaked={leaked}\")",
    )
    write_notebook("children/quiet.py", "x = 1")
    nb = write_notebook(
        "parent.py",
        "parent_only = 1",
        'out = dbutils.notebook.run("./children/child", 60, {"n": 21})',
        'quiet = dbutils.notebook.run("children/quiet.py", 0)',
        'dbutils.notebook.exit(f"{out}|{quiet!r}")',
    )
    assert run_notebook(nb).exit_value == "42 leaked=False|''"


def test_child_failure_fails_the_calling_cell(write_notebook) -> None:
    write_notebook("child.py", "raise ValueError('bad input')")
    nb = write_notebook("parent.py", 'dbutils.notebook.run("child", 10)')
    with pytest.raises(NotebookError) as info:
        run_notebook(nb)
    assert info.value.cell_number == 1
    assert isinstance(info.value.__cause__, NotebookError)
    assert "ValueError: bad input" in str(info.value)


def test_child_running_too_long_raises_a_timeout_naming_it(write_notebook) -> None:
    write_notebook("slow.py", "import time\nfor _ in range(100):\n    time.sleep(0.05)")
    nb = write_notebook("parent.py", 'dbutils.notebook.run("./slow", 0.3)')
    start = time.monotonic()
    with pytest.raises(NotebookError) as info:
        run_notebook(nb)
    assert time.monotonic() - start < 3
    cause = info.value.__cause__
    assert isinstance(cause, NotebookTimeoutError)
    assert cause.notebook.endswith("slow.py")
    assert "slow.py did not finish within 0.3 seconds" in str(info.value)


def test_top_level_timeout_stops_the_notebook(write_notebook, tmp_path: Path) -> None:
    marker = tmp_path / "finished.txt"
    nb = write_notebook(
        "slow.py",
        "import time\nfor _ in range(20):\n    time.sleep(0.05)",
        f"open({str(marker)!r}, 'w').close()",
    )
    with pytest.raises(NotebookTimeoutError, match=r"slow\.py"):
        run_notebook(nb, timeout_seconds=0.2)
    time.sleep(1.5)  # long enough for an unstopped notebook to reach its last cell
    assert not marker.exists()
    fast = write_notebook("fast.py", "dbutils.notebook.exit('done')")
    assert run_notebook(fast, timeout_seconds=5).exit_value == "done"


def test_namespace_is_not_main_and_supports_dataclasses(write_notebook) -> None:
    nb = write_notebook(
        "nb.py",
        'if __name__ == "__main__":\n    raise AssertionError("guarded code ran")',
        "from dataclasses import dataclass\n\n@dataclass\nclass Row:\n    n: 'int'",
        "dbutils.notebook.exit(str(Row(3).n))",
    )
    assert run_notebook(nb).exit_value == "3"


def test_display_shows_dataframes_and_reprs_the_rest(write_notebook, capsys) -> None:
    nb = write_notebook(
        "nb.py",
        """
class FakeFrame:
    def show(self):
        print("SHOWN")

display(FakeFrame())
display({"a": 1})
""",
    )
    run_notebook(nb)
    assert capsys.readouterr().out == "SHOWN\n{'a': 1}\n"


def test_spark_is_the_given_session(write_notebook) -> None:
    marker = object()
    nb = write_notebook("nb.py", "dbutils.notebook.exit(str(spark is not None))")
    assert run_notebook(nb).exit_value == "False"
    assert run_notebook(nb, spark=marker).exit_value == "True"
