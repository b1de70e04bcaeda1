"""Bad input: each case ends as rescued data naming the file, or an error naming file and dataset."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from chispa import assert_df_equality
from structlog.testing import capture_logs

from lakehouse.errors import IngestionError


def test_corrupt_gzip_is_set_aside_and_the_others_load(bronze_kit, spark, tmp_path: Path) -> None:
    config = bronze_kit.config()
    bronze_kit.land(config, "good.csv", "a,b\n1,x\n")
    bad = bronze_kit.land(config, "bad.csv.gz", b"\x1f\x8b\x08\x00garbage, not deflate" * 3)
    result = bronze_kit.ingest(config)
    assert result.rows_written == 1 and result.files == 1
    assert list(result.details["bad_files"]) == [bad]
    record = json.loads((tmp_path / "lake/_checkpoints/bronze/ds/bad_files.json").read_text())
    assert bad in record and record[bad]["reason"].startswith(
        "not a valid gzip file although the name ends in .gz ("
    )
    again = bronze_kit.ingest(config)  # not marked as ingested: reported again on the next run
    assert list(again.details["bad_files"]) == [bad] and again.rows_written == 0


def test_corrupt_gzip_stops_the_run_when_on_bad_file_is_fail(bronze_kit, spark, tmp_path: Path) -> None:
    config = bronze_kit.config(on_bad_file="fail")
    bronze_kit.land(config, "good.csv", "a,b\n1,x\n")
    bad = bronze_kit.land(config, "bad.csv.gz", b"not gzip at all")
    with pytest.raises(IngestionError) as caught:
        bronze_kit.ingest(config)
    assert bad in str(caught.value) and "'ds'" in str(caught.value)
    assert not (tmp_path / "lake/bronze/ds/_delta_log").exists()


def test_unreadable_parquet_found_by_probing_after_the_batch_fails(bronze_kit, spark, tmp_path: Path) -> None:
    config = bronze_kit.config(fmt="parquet")
    spark.createDataFrame([(1,)], "id int").coalesce(1).write.parquet(str(tmp_path / "landing/ds/ok"))
    bad = bronze_kit.land(config, "broken.parquet", b"PAR1 this is not parquet PAR1")
    result = bronze_kit.ingest(config)
    assert result.rows_written == 1
    assert list(result.details["bad_files"]) == [bad]


def test_empty_and_header_only_files_load_nothing_and_fail_nothing(bronze_kit, spark, tmp_path: Path) -> None:
    config = bronze_kit.config()
    empty = bronze_kit.land(config, "empty.csv.gz", b"", gz=True)
    bronze_kit.land(config, "header.csv", "a,b\n")
    bronze_kit.land(config, "rows.csv", "a,b\n1,x\n")
    result = bronze_kit.ingest(config)
    assert (result.files, result.rows_written, result.details["empty_files"]) == (3, 1, [empty])
    assert bronze_kit.ingest(config).files == 0  # all three are in the ledger


def test_rows_with_too_many_and_too_few_fields_are_kept_and_flagged(
    bronze_kit, spark, tmp_path: Path
) -> None:
    config = bronze_kit.config()
    path = bronze_kit.land(config, "rows.csv", "a,b,c\n1,x,\n2,y,z,extra\n3\n")
    bronze_kit.ingest(config)
    expected = spark.createDataFrame(
        [("1", "x", None), ("2", "y", "z"), ("3", None, None)], "a string, b string, c string"
    )
    assert_df_equality(
        bronze_kit.table(config).select("a", "b", "c"), expected, ignore_row_order=True, ignore_nullable=True
    )
    found = sorted(bronze_kit.rescued(config), key=lambda r: r["_raw"])
    assert found == [
        {
            "_file": path,
            "_error": "row has 4 fields, header has 3",
            "_raw": "2,y,z,extra",
            "_extra_fields": 1,
        },
        {"_file": path, "_error": "row has 1 fields, header has 3", "_raw": "3"},
    ]


def test_wrong_type_values_stay_as_landed_strings(bronze_kit, spark, tmp_path: Path) -> None:
    config = bronze_kit.config(fmt="json", contract=["id", "cpu"])
    path = bronze_kit.land(
        config, "e.json", '{"id": 1, "cpu": "abc"}\n{"id": 2, "cpu": {"v": 1}}\n{"id": 3, cpu}\n'
    )
    bronze_kit.ingest(config)
    table = bronze_kit.table(config).select("id", "cpu")
    assert table.schema.simpleString() == "struct<id:string,cpu:string>"
    values = {row.id: row.cpu for row in table.collect()}
    # The nested object keeps its JSON text; Spark 3.5 drops the blanks inside it, 4.x keeps
    # them, so compare the parsed value.
    assert values.keys() == {"1", "2", None}
    assert values["1"] == "abc" and values[None] is None
    assert json.loads(values["2"]) == {"v": 1}
    malformed = {"_file": path, "_error": "malformed JSON record", "_raw": '{"id": 3, cpu}'}
    assert bronze_kit.rescued(config) == [malformed]


def test_bom_is_not_part_of_the_first_column_name(bronze_kit, spark, tmp_path: Path) -> None:
    config = bronze_kit.config(contract=["a", "b"])
    bronze_kit.land(config, "bom.csv.gz", "\ufeffa,b\n1,x\n", gz=True)
    bronze_kit.ingest(config)
    assert bronze_kit.table(config).select("a", "b").collect()[0].asDict() == {"a": "1", "b": "x"}
    assert bronze_kit.table(config).where("_rescued_data is not null").count() == 0


def test_non_utf8_rows_are_kept_and_flagged(bronze_kit, spark, tmp_path: Path) -> None:
    config = bronze_kit.config()
    path = bronze_kit.land(config, "latin.csv", "a,b\n1,caf\xe9\n2,ok\n".encode("latin-1"))
    bronze_kit.ingest(config)
    flagged = bronze_kit.rescued(config)
    assert len(flagged) == 1 and flagged[0]["_file"] == path
    assert "not UTF-8" in flagged[0]["_error"]
    assert bronze_kit.table(config).count() == 2


def test_non_utf8_file_reads_cleanly_with_the_encoding_option(bronze_kit, spark, tmp_path: Path) -> None:
    config = bronze_kit.config(options={"header": True, "encoding": "ISO-8859-1"})
    bronze_kit.land(config, "latin.csv", "a,b\n1,caf\xe9\n".encode("latin-1"))
    bronze_kit.ingest(config)
    assert bronze_kit.table(config).select("b").first()[0] == "caf\xe9"
    assert bronze_kit.rescued(config) == []


def test_missing_landing_path_is_an_error_naming_dataset_and_path(bronze_kit, spark, tmp_path: Path) -> None:
    config = bronze_kit.config(path="nowhere")
    with pytest.raises(IngestionError, match=r"dataset 'ds'.*landing path .*nowhere does not exist"):
        bronze_kit.ingest(config)


def _replace(config, name: str, content: str) -> None:
    target = Path(config.dataset("ds").source.path) / name
    target.write_text(content)
    os.utime(target, (1_900_000_000, 1_900_000_000))


def test_replaced_file_is_ingested_again_with_a_warning(bronze_kit, spark, tmp_path: Path) -> None:
    config = bronze_kit.config()
    path = bronze_kit.land(config, "f.csv", "a,b\n1,x\n")
    bronze_kit.ingest(config)
    _replace(config, "f.csv", "a,b\n1,x\n2,y\n")
    with capture_logs() as logs:
        result = bronze_kit.ingest(config)
    assert result.details["changed_files"] == [path] and result.rows_written == 2
    assert [e["file"] for e in logs if e["log_level"] == "warning"] == [path]
    assert bronze_kit.table(config).count() == 3


def test_replaced_file_fails_when_on_file_change_is_fail(bronze_kit, spark, tmp_path: Path) -> None:
    config = bronze_kit.config(on_file_change="fail")
    path = bronze_kit.land(config, "f.csv", "a,b\n1,x\n")
    bronze_kit.ingest(config)
    _replace(config, "f.csv", "a,b\n9,z\n")
    with pytest.raises(IngestionError, match="replaced after it was ingested") as caught:
        bronze_kit.ingest(config)
    assert path in str(caught.value)


def test_changed_file_is_not_loaded_again_when_on_file_change_is_ignore(
    bronze_kit, spark, tmp_path: Path
) -> None:
    config = bronze_kit.config(on_file_change="ignore")
    path = bronze_kit.land(config, "f.csv", "a,b\n1,x\n")
    bronze_kit.ingest(config)
    _replace(config, "f.csv", "a,b\n1,x\n2,y\n")
    with capture_logs() as logs:
        result = bronze_kit.ingest(config)
    assert result.details["ignored_changed_files"] == [path] and result.details["changed_files"] == []
    assert result.rows_written == 0 and not [e for e in logs if e["log_level"] == "warning"]
    assert sorted(r.a for r in bronze_kit.table(config).collect()) == ["1"]
