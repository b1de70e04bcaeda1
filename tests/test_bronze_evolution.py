"""Schema evolution modes: addNewColumns, rescue, none, failOnNewColumns; typed formats."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from chispa import assert_df_equality

from lakehouse.errors import SchemaDriftError


def _land_old_and_new(bronze_kit, config) -> tuple[str, str]:
    old = bronze_kit.land(config, "d1/old.csv", "a,b\n1,x\n")
    new = bronze_kit.land(config, "d2/new.csv", "a,b,c\n2,y,extra\n")
    return old, new


def test_add_new_columns_evolves_the_table(bronze_kit, spark, tmp_path: Path) -> None:
    config = bronze_kit.config(contract=["a", "b"], schema_evolution="addNewColumns")
    _land_old_and_new(bronze_kit, config)
    result = bronze_kit.ingest(config)
    assert result.details["new_columns"] == ["c"]
    expected = spark.createDataFrame([("1", "x", None), ("2", "y", "extra")], "a string, b string, c string")
    assert_df_equality(
        bronze_kit.table(config).select("a", "b", "c"), expected, ignore_row_order=True, ignore_nullable=True
    )
    assert bronze_kit.table(config).where("_rescued_data is not null").count() == 0


@pytest.mark.parametrize("mode", ["rescue", "none"])
def test_rescue_and_none_keep_unknown_columns_in_rescued_data(
    bronze_kit, spark, tmp_path: Path, mode: str
) -> None:
    config = bronze_kit.config(contract=["a", "b"], schema_evolution=mode)
    _, new = _land_old_and_new(bronze_kit, config)
    result = bronze_kit.ingest(config)
    assert result.rows_written == 2
    assert result.details["rescued_columns"] == ["c"]
    table = bronze_kit.table(config)
    assert "c" not in table.columns
    assert bronze_kit.rescued(config) == [{"_file": new, "c": "extra"}]
    assert table.where("a = '2'").select("b").first()[0] == "y"


def test_fail_on_new_columns_names_file_and_columns_and_writes_nothing(
    bronze_kit, spark, tmp_path: Path
) -> None:
    config = bronze_kit.config(contract=["a", "b"], schema_evolution="failOnNewColumns")
    bronze_kit.land(config, "d1/old.csv", "a,b\n1,x\n")
    bronze_kit.ingest(config)
    new = bronze_kit.land(config, "d2/new.csv", "a,b,c,d\n2,y,3,4\n")
    with pytest.raises(SchemaDriftError) as caught:
        bronze_kit.ingest(config)
    assert caught.value.new_columns == ["c", "d"]
    assert new in str(caught.value) and "'ds'" in str(caught.value)
    assert bronze_kit.version(config) == 0
    assert bronze_kit.table(config).count() == 1
    with pytest.raises(SchemaDriftError):  # still reported, never silently marked as loaded
        bronze_kit.ingest(config)


def test_infer_schema_takes_the_union_of_what_files_bring(bronze_kit, spark, tmp_path: Path) -> None:
    config = bronze_kit.config(schema_evolution="addNewColumns")
    bronze_kit.land(config, "one.csv", "a,b\n1,x\n")
    bronze_kit.land(config, "two.csv", "b,c\ny,z\n")
    bronze_kit.ingest(config)
    expected = spark.createDataFrame([("1", "x", None), (None, "y", "z")], "a string, b string, c string")
    assert_df_equality(
        bronze_kit.table(config).select("a", "b", "c"), expected, ignore_row_order=True, ignore_nullable=True
    )


def test_parquet_keeps_file_types(bronze_kit, spark, tmp_path: Path) -> None:
    config = bronze_kit.config(fmt="parquet")
    source = spark.createDataFrame([(1, 2.5, "x")], "id int, score double, name string")
    source.coalesce(1).write.parquet(str(tmp_path / "landing" / "ds" / "batch1"))
    result = bronze_kit.ingest(config)
    assert result.rows_written == 1
    assert dict(bronze_kit.table(config).dtypes)["id"] == "int"
    assert dict(bronze_kit.table(config).dtypes)["score"] == "double"


def test_json_lines_and_multiline_keep_values_as_json_text(bronze_kit, spark, tmp_path: Path) -> None:
    config = bronze_kit.config(fmt="json", contract=["id", "info"], options={"multiLine": True})
    doc = [{"id": 1, "info": {"os": "15.1", "apps": ["x"]}}, {"id": "2", "info": "plain", "extra": True}]
    # The array spans lines (needs multiLine); nested values compact so the text compares.
    bronze_kit.land(
        config, "many.json", "[\n" + ",\n".join(json.dumps(d, separators=(",", ":")) for d in doc) + "\n]"
    )
    bronze_kit.ingest(config)
    expected = spark.createDataFrame(
        [("1", '{"os":"15.1","apps":["x"]}', None), ("2", "plain", "true")],
        "id string, info string, extra string",
    )
    assert_df_equality(
        bronze_kit.table(config).select("id", "info", "extra"),
        expected,
        ignore_row_order=True,
        ignore_nullable=True,
    )
