"""Per-file and per-dataset fault isolation: the probes of issue 16.

A dangling symbolic link in a landing folder, or a file that vanished between listing and
``stat``, used to crash the whole run (``unexpected FileNotFoundError`` from ``entry.stat()``):
no other dataset ran and no ledger row was written. Now such entries are skipped with a reason,
the rest of the dataset loads, the other datasets run, and an unexpected error in one dataset
is one line with its cause.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import lakehouse.io.files as files
from lakehouse.cli import main
from lakehouse.config import load_config
from lakehouse.ledger import read_ledger


def test_dangling_link_fifo_and_vanished_file_are_skipped_and_reported(
    bronze_kit, spark, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = bronze_kit.config()
    good = bronze_kit.land(config, "good.csv", "a,b\n1,x\n2,y\n")
    folder = Path(config.dataset("ds").source.path)
    (folder / "dangling.csv").symlink_to(tmp_path / "nowhere.csv")
    os.mkfifo(folder / "pipe.csv")  # reading it would block forever
    bronze_kit.land(config, "vanishing.csv", "a,b\n3,z\n")
    (folder / "sub").mkdir()
    bronze_kit.land(config, "sub/nested.csv", "a,b\n4,w\n")

    # The race of the probe: the file is listed, then deleted before bronze looks at it.
    real_scandir = os.scandir

    class Listed:
        def __init__(self, entries: list[os.DirEntry[str]]) -> None:
            self.entries = entries

        def __enter__(self) -> object:
            return iter(self.entries)

        def __exit__(self, *exc: object) -> None:
            return None

    def scandir_then_delete(path: str) -> Listed:
        with real_scandir(path) as listing:
            entries = list(listing)
        vanishing = Path(path) / "vanishing.csv"
        if vanishing.exists():
            vanishing.unlink()
        return Listed(entries)

    monkeypatch.setattr(files.os, "scandir", scandir_then_delete)
    result = bronze_kit.ingest(config)

    base = "file:" + str(folder)
    assert result.status == "succeeded"
    assert result.details["skipped_files"] == {
        f"{base}/dangling.csv": "a dangling symbolic link",
        f"{base}/pipe.csv": "not a regular file (a FIFO, socket or device)",
        f"{base}/vanishing.csv": "gone before it could be read",
    }
    assert result.rows_written == 3 and result.files == 2
    assert sorted(r.a for r in bronze_kit.table(config).collect()) == ["1", "2", "4"]
    assert good in {r._source_file for r in bronze_kit.table(config).select("_source_file").collect()}

    # Skipped entries are not ingested: a link that now points somewhere loads next run.
    (tmp_path / "nowhere.csv").write_text("a,b\n5,v\n")
    monkeypatch.setattr(files.os, "scandir", real_scandir)
    again = bronze_kit.ingest(config, run_id="run-2")
    assert again.rows_written == 1
    assert again.details["skipped_files"] == {
        f"{base}/pipe.csv": "not a regular file (a FIFO, socket or device)"
    }


def test_a_dangling_link_leaves_the_run_succeeding_with_the_file_reported(
    spark, two_datasets: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    landing = two_datasets.parent / "landing"
    (landing / "readings" / "broken.csv").symlink_to(two_datasets.parent / "deleted-target.csv")
    assert main(["run", "--config", str(two_datasets), "--env", "", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["status"] == "succeeded"
    readings = summary["datasets"]["readings"]
    assert readings["bronze"]["rows_written"] == 2 and readings["silver"]["rows_written"] == 2
    broken = "file:" + str(two_datasets.parent / "landing" / "readings" / "broken.csv")
    assert readings["bronze"]["details"]["skipped_files"] == {broken: "a dangling symbolic link"}
    assert summary["datasets"]["alarms"]["silver"]["rows_written"] == 2
    ledger = read_ledger(spark, load_config(two_datasets, None))
    assert ledger.where("status = 'succeeded'").count() == 4
