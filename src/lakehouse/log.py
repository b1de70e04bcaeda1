"""Structured logging with structlog.

Library code only asks for loggers (:func:`get_logger`) and binds the run context; it never
configures logging, so an application's (or a notebook host's) structlog and ``logging``
setup stay as they are. Entry points configure it once with :func:`configure_logging`: the
``lakehouse`` command, ``run_job`` (what the notebooks call) and the test setup. That setup
writes JSON lines when output is not a terminal (jobs, CI, files) or
``LAKEHOUSE_LOG_FORMAT=json``, a readable console otherwise. In a terminal, a status line at
the bottom shows what the run is doing (dataset and layer, files listed, rows so far), kept
under the log lines as they scroll and cleared when the run ends. Every line of a run carries
``run_id``, ``pipeline``, ``dataset`` and ``layer`` (bound with :func:`run_context` and
:func:`layer_context`; ``None`` outside a dataset); values of keys that look like secrets
are redacted before anything is written. Logs go to stderr; stdout is kept for command output.
Without it, lines go wherever the application's structlog configuration sends them.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any

import structlog

RUN_KEYS = ("run_id", "pipeline", "dataset", "layer")
_SECRET_KEY = re.compile(r"(secret|password|passwd|token|salt|credential|api_key|sas)", re.I)
_configured = False


def _ensure_run_keys(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in RUN_KEYS:
        event.setdefault(key, None)
    return event


def _redact(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event):
        if _SECRET_KEY.search(key) and event[key] is not None:
            event[key] = "***"
    return event


class _CurrentStderr:
    """Writes to whatever ``sys.stderr`` is at the time of the write.

    Binding the stream at configure time breaks when a caller (pytest's capture, a notebook
    host) later swaps and closes ``sys.stderr``.
    """

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


_ERASE = "\r\x1b[2K"  # back to the line's start, erase it
# The numbers of an event worth showing in the status line, in this order.
_STATUS_KEYS = (
    ("files", "files"), ("new", "new"), ("batch_id", "batch"), ("rows", "rows"), ("rows_read", "read"),
    ("rows_written", "written"), ("rows_quarantined", "quarantined"), ("bronze_versions", "bronze versions"),
)  # fmt: skip


class StatusLine:
    """stderr with a status line kept at the bottom of a terminal.

    Each log line is written above it (the status is erased, the line written, the status
    drawn again); :meth:`track` is a structlog processor that sets the status from the run's
    events and clears it when the run ends.
    """

    def __init__(self) -> None:
        self.status = ""

    def write(self, text: str) -> int:
        stream = sys.stderr
        if self.status:
            stream.write(_ERASE)
        count = stream.write(text)
        if self.status and text.endswith("\n"):
            stream.write(self.status)
        return count

    def flush(self) -> None:
        sys.stderr.flush()

    def show(self, status: str) -> None:
        """Replace the status line (an empty one removes it)."""
        width = max(20, _columns() - 1)
        status = status if len(status) <= width else status[: width - 1] + "…"
        sys.stderr.write(_ERASE + status)
        sys.stderr.flush()
        self.status = status

    def track(self, _: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        name = str(event.get("event", ""))
        if name == "run finished":
            self.show("")
        elif event.get("dataset") and event.get("layer"):
            numbers = [f"{label} {event[key]}" for key, label in _STATUS_KEYS if event.get(key) is not None]
            where = f"{event['dataset']}/{event['layer']}"
            self.show(f"▶ {where}: {name}" + (f" ({', '.join(numbers)})" if numbers else ""))
        elif name == "run started":
            self.show("▶ run started")
        return event


def _columns() -> int:
    try:
        columns = os.get_terminal_size(sys.stderr.fileno()).columns
    except (OSError, ValueError, AttributeError):
        columns = 0
    return columns or 100  # a terminal that reports no size


def configure_logging(*, json: bool | None = None, level: str | None = None, force: bool = False) -> None:
    """Configure structlog once; later calls are no-ops unless ``force``."""
    global _configured
    if _configured and not force:
        return
    if json is None:
        wanted = os.environ.get("LAKEHOUSE_LOG_FORMAT", "").lower()
        json = wanted == "json" or (wanted != "console" and not sys.stderr.isatty())
    level_name = (level or os.environ.get("LAKEHOUSE_LOG_LEVEL", "INFO")).upper()
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if json
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    status = StatusLine() if not json and sys.stderr.isatty() else None
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        _ensure_run_keys,
        _redact,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info if json else structlog.processors.StackInfoRenderer(),
        renderer,
    ]
    if status is not None:
        processors.insert(3, status.track)
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level_name)),
        logger_factory=structlog.PrintLoggerFactory(file=status or _CurrentStderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )
    _configured = True


def get_logger(name: str | None = None) -> Any:
    """A structlog logger; it follows whatever configuration the process has (none is made here)."""
    return structlog.get_logger(name) if name else structlog.get_logger()


@contextmanager
def run_context(run_id: str, pipeline: str) -> Iterator[None]:
    """Bind run_id and pipeline to every log line inside the block."""
    tokens = structlog.contextvars.bind_contextvars(
        run_id=run_id, pipeline=pipeline, dataset=None, layer=None
    )
    try:
        yield
    finally:
        structlog.contextvars.reset_contextvars(**tokens)


@contextmanager
def layer_context(dataset: str | None, layer: str | None) -> Iterator[None]:
    """Bind dataset and layer to every log line inside the block."""
    tokens = structlog.contextvars.bind_contextvars(dataset=dataset, layer=layer)
    try:
        yield
    finally:
        structlog.contextvars.reset_contextvars(**tokens)
