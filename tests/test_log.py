"""Every log line of a run carries run_id, pipeline, dataset and layer; secrets are redacted."""

from __future__ import annotations

import json
import logging

import pytest
import structlog

from lakehouse.log import configure_logging, get_logger, layer_context, run_context


def test_json_lines_carry_run_context(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(json=True, force=True)
    log = get_logger("test")
    with run_context("r-1", "devices"):
        log.info("run started")
        with layer_context("usage", "bronze"):
            log.info("files listed", new_files=3, pii_salt="do-not-print")
    lines = [json.loads(line) for line in capsys.readouterr().err.strip().splitlines()]
    assert [line["event"] for line in lines] == ["run started", "files listed"]
    assert lines[0]["run_id"] == "r-1" and lines[0]["pipeline"] == "devices"
    assert lines[0]["dataset"] is None and lines[0]["layer"] is None
    assert (lines[1]["dataset"], lines[1]["layer"], lines[1]["new_files"]) == ("usage", "bronze", 3)
    assert lines[1]["pii_salt"] == "***"
    configure_logging(json=True, force=True)


def test_context_is_unbound_after_the_run(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(json=True, force=True)
    with run_context("r-2", "p"), layer_context("d", "silver"):
        pass
    get_logger().info("outside")
    line = json.loads(capsys.readouterr().err.strip())
    assert line["run_id"] is None and line["dataset"] is None


def test_errors_survive_pickling() -> None:
    import pickle

    from lakehouse.errors import ConfigError, IngestionError, SchemaDriftError
    from lakehouse.notebooks import NotebookError

    errors = [
        ConfigError("bad", file="p.yml", key_path="a.b", found=1, expected="2"),
        IngestionError("broken gzip", dataset="usage", file="f.csv.gz"),
        SchemaDriftError(dataset="usage", file="f.csv", new_columns=["x"]),
        NotebookError("nb.py", 3, "x = 1", ValueError("boom")),
    ]
    for error in errors:
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is type(error) and str(copy) == str(error)
        assert copy.__dict__ == error.__dict__


def test_logging_follows_a_replaced_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    import io
    import sys

    configure_logging(json=True, force=True)
    replaced, sys.stderr = sys.stderr, io.StringIO()
    try:
        get_logger().info("to the new stream")
        written = sys.stderr.getvalue()
    finally:
        sys.stderr = replaced
    assert "to the new stream" in written


def _stdlib_state(names: list[str]) -> dict[str, object]:
    loggers = {name: logging.getLogger(name) for name in names}
    return {n: (lg.level, list(lg.handlers), lg.propagate, lg.disabled) for n, lg in loggers.items()}


def test_the_library_leaves_the_application_logging_configuration_alone(bronze_kit, monkeypatch) -> None:
    """An application's structlog and logging setup is what it was after importing and running
    lakehouse, and lakehouse's lines (with their run context) go through the application's setup."""
    import lakehouse.log

    # As in an application that never called configure_logging (the test setup did).
    monkeypatch.setattr(lakehouse.log, "_configured", False)
    saved = structlog.get_config()
    seen: list[dict[str, object]] = []

    def keep(_: object, __: str, event: dict[str, object]) -> dict[str, object]:
        seen.append(dict(event))
        raise structlog.DropEvent

    structlog.configure(processors=[structlog.contextvars.merge_contextvars, keep])
    app = structlog.get_config()
    root = logging.getLogger()
    handler, level = logging.NullHandler(), root.level
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    names = ["", *logging.Logger.manager.loggerDict]
    before = _stdlib_state(names)
    try:
        import lakehouse

        config = bronze_kit.config()
        bronze_kit.land(config, "a.csv", "a,b\n1,x\n")
        summary = lakehouse.run_pipeline(bronze_kit.spark, config)
        assert summary.status == "succeeded"
        assert structlog.get_config() == app
        assert _stdlib_state(names) == before
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        structlog.configure(**saved)
    started = [e for e in seen if e.get("event") == "run started"]
    assert started and started[0]["run_id"] == summary.run_id
