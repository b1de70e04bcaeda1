"""An unexpected error in one dataset fails that dataset only, reported as one line and its cause.

Issue 16's probe: an error that is not a library error (a ``FileNotFoundError`` from deep in
bronze) crashed the whole run with a traceback; no other dataset ran and no ledger row was
written.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lakehouse.cli import main
from lakehouse.config import load_config
from lakehouse.ledger import read_ledger
from lakehouse.pipeline import run_pipeline


def test_an_unexpected_error_in_one_dataset_is_one_line_and_the_others_run(
    spark, two_datasets: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import lakehouse.pipeline as pipeline

    real = pipeline._layer_function

    def failing(layer: str):  # a bug inside one dataset's bronze: not a library error
        fn = real(layer)

        def run(spark, dataset, config, ctx):
            if dataset.name == "readings" and layer == "bronze":
                try:
                    {}["missing"]
                except KeyError as cause:
                    raise RuntimeError("bronze bug\nsecond line") from cause
            return fn(spark, dataset, config, ctx)

        return run

    monkeypatch.setattr(pipeline, "_layer_function", failing)
    config = load_config(two_datasets, None)
    summary = run_pipeline(spark, config, run_id="run-x")
    outcome = {(r.dataset, r.layer): (r.status, r.error) for r in summary.results}
    assert outcome[("readings", "bronze")] == (
        "failed",
        "unexpected RuntimeError: bronze bug (cause: KeyError: 'missing')",
    )
    assert outcome[("readings", "silver")] == ("skipped", "an earlier layer failed")
    assert outcome[("alarms", "silver")] == ("succeeded", None)
    assert (
        summary.error == "readings/bronze: unexpected RuntimeError: bronze bug (cause: KeyError: 'missing')"
    )
    assert read_ledger(spark, config).where("run_id = 'run-x'").count() == 4
    crashed = read_ledger(spark, config).where("run_id = 'run-x' AND dataset = 'readings'")
    assert {(r.layer, r.status, r.error_class) for r in crashed.collect()} == {
        ("bronze", "failed", "RuntimeError"),
        ("silver", "skipped", None),
    }

    assert main(["run", "--config", str(two_datasets), "--env", ""]) == 1
    err = capsys.readouterr().err
    assert "lakehouse: run failed: readings/bronze: unexpected RuntimeError: bronze bug" in err
    assert "Traceback" not in err
