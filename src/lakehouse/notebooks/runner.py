"""Run Databricks source-format notebooks locally, cell by cell, as Databricks would."""

from __future__ import annotations

import ctypes
import itertools
import linecache
import logging
import sys
import threading
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from lakehouse.notebooks.dbutils import DBUtils, NotebookExit
from lakehouse.notebooks.errors import NotebookError, NotebookFormatError, NotebookTimeoutError
from lakehouse.notebooks.source import Cell, CellKind, parse_notebook, resolve_notebook

log = logging.getLogger(__name__)
T = TypeVar("T")
_module_ids = itertools.count(1)


@dataclass(frozen=True)
class NotebookResult:
    """Outcome of a notebook run.

    ``exit_value`` is what ``dbutils.notebook.exit`` received, or None if it was not called;
    ``cells_run`` counts the notebook's code and ``%run`` cells that were started.
    """

    exit_value: str | None
    notebook: str
    cells_run: int


def run_notebook(
    path: str | Path,
    params: Mapping[str, str] | None = None,
    *,
    spark: Any = None,
    timeout_seconds: float | None = None,
    volumes_root: str | None = None,
) -> NotebookResult:
    """Run a notebook with ``spark``, ``display`` and ``dbutils`` in its namespace.

    ``params`` are the widget values a job would pass. Raises :class:`NotebookError` for a
    failing cell, :class:`NotebookFormatError` for a file that cannot run locally and
    :class:`NotebookTimeoutError` when ``timeout_seconds`` elapse first. ``dbutils.fs`` keeps
    Volume paths (``/Volumes/<catalog>/<schema>/<volume>/...``) under ``volumes_root``
    (default ``./_lakehouse/volumes``).
    """
    notebook = resolve_notebook(path)
    return _Runner(spark, volumes_root).run_fresh(notebook, params or {}, timeout_seconds)


def display(obj: Any = None, *args: Any, **kwargs: Any) -> None:
    """Print a DataFrame with ``show()``; anything else with its repr."""
    show = getattr(obj, "show", None)
    if callable(show):
        show()
    else:
        print(repr(obj))


def displayHTML(html: str) -> None:  # noqa: N802 - Databricks' name
    """Print the HTML source, as there is no browser to render it."""
    print(html)


class _Runner:
    """Shared settings of one top-level run and the child notebooks it starts."""

    def __init__(self, spark: Any, volumes_root: str | None) -> None:
        self.spark = spark
        self.volumes_root = volumes_root

    def run_fresh(self, notebook: Path, params: Mapping[str, str], timeout: float | None) -> NotebookResult:
        """Run ``notebook`` in a new namespace, under a time limit if one is given."""
        if not timeout:
            return self._run_in_namespace(notebook, params)
        return _call_with_timeout(lambda: self._run_in_namespace(notebook, params), timeout, str(notebook))

    def _run_child(self, parent: Path, path: str, timeout: float, args: Mapping[str, str]) -> str:
        child = resolve_notebook(path, parent.parent)
        log.info("running child notebook %s with %d argument(s)", child, len(args))
        return self.run_fresh(child, args, timeout).exit_value or ""

    def _run_in_namespace(self, notebook: Path, params: Mapping[str, str]) -> NotebookResult:
        dbutils = DBUtils(
            params=params,
            run_child=lambda p, t, a: self._run_child(notebook, p, t, a),
            volumes_root=self.volumes_root,
        )
        # A registered module as namespace lets notebook-defined dataclasses and pickling find
        # their module; its name is not "__main__", so `if __name__ == "__main__"` stays off.
        module = types.ModuleType(f"_lakehouse_notebook_{next(_module_ids)}")
        module.__dict__.update(spark=self.spark, dbutils=dbutils, display=display, displayHTML=displayHTML)
        sys.modules[module.__name__] = module
        started = [0]
        try:
            _execute(notebook, module.__dict__, (), started)
        except NotebookExit as done:
            return NotebookResult(done.value, str(notebook), started[0])
        finally:
            sys.modules.pop(module.__name__, None)
        return NotebookResult(None, str(notebook), started[0])


def _execute(
    notebook: Path, namespace: dict[str, Any], stack: tuple[Path, ...], started: list[int] | None
) -> None:
    """Execute the cells of ``notebook`` in ``namespace``; ``%run`` recurses into the same one."""
    if notebook.resolve() in stack:
        raise NotebookFormatError(
            f"{notebook}: %run cycle through {' -> '.join(map(str, stack))}", notebook=str(notebook)
        )
    for cell in parse_notebook(notebook):
        if cell.kind in (CellKind.EMPTY, CellKind.MARKDOWN):
            continue
        if cell.kind is CellKind.PIP:
            log.info(
                "%s: cell %d skipped (%s); install dependencies locally instead",
                notebook,
                cell.number,
                cell.first_line,
            )
            continue
        if started is not None:
            started[0] += 1
        if cell.kind is CellKind.RUN:
            _run_included(notebook, cell, namespace, stack)
        else:
            _run_code(notebook, cell, namespace)


def _run_included(notebook: Path, cell: Cell, namespace: dict[str, Any], stack: tuple) -> None:
    try:
        target = resolve_notebook(cell.argument, notebook.parent)
    except FileNotFoundError as exc:
        raise NotebookError(str(notebook), cell.number, cell.first_line, exc) from exc
    # Errors inside the included notebook already name it and its cell.
    _execute(target, namespace, (*stack, notebook.resolve()), None)


def _run_code(notebook: Path, cell: Cell, namespace: dict[str, Any]) -> None:
    filename = f"{notebook}#cell{cell.number}"
    # Registering the source lets tracebacks show the failing line of the cell.
    linecache.cache[filename] = (len(cell.source), None, cell.source.splitlines(True), filename)
    try:
        exec(compile(cell.source, filename, "exec"), namespace)
    except Exception as exc:
        raise NotebookError(str(notebook), cell.number, cell.first_line, exc) from exc


class _Cancelled(BaseException):
    """Injected into a timed-out notebook thread to stop it at its next Python instruction."""


def _call_with_timeout(fn: Callable[[], T], timeout: float, notebook: str) -> T:
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = fn()
        except _Cancelled:
            pass
        except BaseException as exc:  # handed to the caller's thread below
            outcome["error"] = exc

    thread = threading.Thread(target=target, name=f"notebook:{notebook}", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        # Python cannot kill a thread; an async exception stops it once it runs Python code
        # again (a blocking call finishes first).
        ctypes.pythonapi.PyThreadState_SetAsyncExc(
            ctypes.c_ulong(thread.ident or 0), ctypes.py_object(_Cancelled)
        )
        raise NotebookTimeoutError(notebook, timeout)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
