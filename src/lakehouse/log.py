"""Structured logging with structlog.

Library code only asks for loggers (:func:`get_logger`) and binds the run context; it never
configures logging, so an application's (or a notebook host's) structlog and ``logging``
setup stay as they are. Entry points configure it once with :func:`configure_logging`: the
``lakehouse`` command, ``run_job`` (what the notebooks call) and the test setup. That setup
writes JSON lines when output is not a terminal (jobs, CI, files) or
``LAKEHOUSE_LOG_FORMAT=json``, a readable console otherwise. Every line of a run carries
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
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            _ensure_run_keys,
            _redact,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info if json else structlog.processors.StackInfoRenderer(),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level_name)),
        logger_factory=structlog.PrintLoggerFactory(file=_CurrentStderr()),  # type: ignore[arg-type]
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
