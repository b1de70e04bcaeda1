"""Bronze ingestion: exactly the new files, once; batches; metadata; the shipped sample."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from chispa import assert_df_equality

from lakehouse.bronze.listing import diff_files
from lakehouse.io.files import FileEntry

DATA_COLUMNS = ["a", "b", "_source_file", "_run_id", "_rescued_data"]


def test_diff_splits_new_changed_and_known_without_spark() -> None:
    listed = [
        FileEntry("file:/l/x", 10, 5),
        FileEntry("file:/l/y", 11, 6),
        FileEntry("file:/l/z", 12, 7),
        FileEntry("file:/l/p", 1, 1),
    ]
    diff = diff_files(listed, {"file:/l/x": (10, 5), "file:/l/y": (99, 6)}, {"file:/l/p"})
    assert [e.path for e in diff.new] == ["file:/l/z"]
    assert [e.path for e in diff.changed] == ["file:/l/y"]
    assert diff.known == 1


def test_two_new_files_add_exactly_their_rows_and_rerun_adds_nothing(
    bronze_kit, spark, tmp_path: Path
) -> None:
    config = bronze_kit.config()
    f1 = bronze_kit.land(config, "d1/one.csv", "a,b\n1,x\n2,y\n")
    first = bronze_kit.ingest(config)
    assert (first.files, first.rows_read, first.rows_written, first.table_version) == (1, 2, 2, 0)

    f2 = bronze_kit.land(config, "d2/two.csv.gz", "a,b\n3,z\n", gz=True)
    f3 = bronze_kit.land(config, "d2/three.csv", "a,b\n4,\n5,w\n")
    bronze_kit.land(config, "d2/_SUCCESS", "")
    bronze_kit.land(config, "d2/.hidden.csv", "a,b\n9,9\n")
    second = bronze_kit.ingest(config, run_id="run-2")
    assert (second.files, second.rows_written, second.table_version) == (2, 3, 1)

    expected = spark.createDataFrame(
        [
            ("1", "x", f1, "run-1", None),
            ("2", "y", f1, "run-1", None),
            ("3", "z", f2, "run-2", None),
            ("4", None, f3, "run-2", None),
            ("5", "w", f3, "run-2", None),
        ],
        "a string, b string, _source_file string, _run_id string, _rescued_data string",
    )
    assert_df_equality(
        bronze_kit.table(config).select(*DATA_COLUMNS), expected, ignore_row_order=True, ignore_nullable=True
    )

    third = bronze_kit.ingest(config, run_id="run-3")
    assert (third.files, third.rows_written, third.table_version) == (0, 0, 1)
    assert bronze_kit.version(config) == 1
    assert bronze_kit.table(config).count() == 5


def test_metadata_columns_have_their_types(bronze_kit, spark, tmp_path: Path) -> None:
    config = bronze_kit.config()
    bronze_kit.land(config, "one.csv", "a,b\n1,x\n")
    bronze_kit.ingest(config)
    types = dict(bronze_kit.table(config).dtypes)
    assert types == {
        "a": "string",
        "b": "string",
        "_source_file": "string",
        "_file_modified_at": "timestamp",
        "_ingested_at": "timestamp",
        "_run_id": "string",
        "_rescued_data": "string",
    }
    mtime = Path(config.dataset(bronze_kit.dataset).source.path, "one.csv").stat().st_mtime
    row = bronze_kit.table(config).first()
    assert abs(row["_file_modified_at"].timestamp() - mtime) < 0.01


def test_max_files_per_batch_writes_one_delta_version_per_batch(bronze_kit, spark, tmp_path: Path) -> None:
    config = bronze_kit.config(max_files_per_batch=1)
    for i in range(3):
        bronze_kit.land(config, f"f{i}.csv", f"a,b\n{i},x\n")
    result = bronze_kit.ingest(config)
    summary = (result.details["batches"], result.files, result.rows_written, result.table_version)
    assert summary == (3, 3, 3, 2)
    from delta.tables import DeltaTable

    history = DeltaTable.forPath(spark, config.dataset(bronze_kit.dataset).bronze_path).history()
    assert sorted(r[0] for r in history.select("version").collect()) == [0, 1, 2]


def test_sample_usage_lands_exactly_the_manifest_rows(
    bronze_kit, spark, tmp_path: Path, repo_root: Path
) -> None:
    manifest = json.loads((repo_root / "samples/MANIFEST.json").read_text())
    expected_rows = sum(f["data_rows"] for f in manifest["files"] if f["dataset"] == "usage")
    shutil.copytree(repo_root / "samples/landing/usage", tmp_path / "landing" / "usage")
    config = bronze_kit.config(
        path="usage",
        max_files_per_batch=4,
        contract=[
            "device_id",
            "event_ts",
            "app",
            "cpu_pct",
            "mem_mb",
            "battery_pct",
            "network",
            "owner_email",
            "firmware",
        ],
    )
    result = bronze_kit.ingest(config)
    assert result.rows_written == expected_rows
    assert bronze_kit.table(config).count() == expected_rows
    assert not any("\ufeff" in c for c in bronze_kit.table(config).columns)
    errors = sorted(r["_error"] for r in bronze_kit.rescued(config))
    assert errors == ["row has 4 fields, header has 8", "row has 9 fields, header has 8"]
    assert bronze_kit.ingest(config).rows_written == 0
