"""Reading only the data files a range of commits changed (``lakehouse.io.changed_files``).

A derived table's partial refresh runs its SQL over these rows. Read as Parquet, only the
named files are scanned: the test checks the files the scan reads and the rows it returns,
against Delta's own read of the same table. Where a file's columns may not be the table's
(partition folders, a schema change in the range, column mapping), the answer is None, so the
caller reads through Delta.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from chispa import assert_df_equality

from lakehouse.io import delta
from lakehouse.io.changed_files import Changed, files_changed, read_files

SCHEMA = "id BIGINT, day DATE, name STRING"


def _append(spark, path: Path, ids: range, **options: str) -> None:
    rows = [(i, f"2026-11-0{1 + i % 3}", f"n{i}") for i in ids]
    df = spark.createDataFrame(rows, "id BIGINT, day STRING, name STRING").selectExpr(
        "id", "CAST(day AS DATE) AS day", "name"
    )
    writer = df.coalesce(1).write.format("delta").mode("append")
    for key, value in options.items():
        writer = writer.option(key, value)
    writer.save(str(path))


def _names(df) -> set[str]:
    return {f.rsplit("/", 1)[-1] for f in df.inputFiles()}


def _ids(df) -> list[int]:
    return sorted(r.id for r in df.select("id").collect())


@pytest.fixture()
def table(spark, tmp_path):
    """An unpartitioned table of three appends, one file each: ids 0-9, 10-19, 20-29."""
    path = tmp_path / "table"
    for start in (0, 10, 20):
        _append(spark, path, range(start, start + 10))
    return path


def test_only_the_added_files_are_read(spark, table):
    changed = files_changed(str(table), 0, 2)
    assert changed is not None and changed.plain and not changed.removed
    df = read_files(spark, str(table), 2, changed, changed.added)
    assert df is not None
    assert _names(df) == Changed.names(changed.added) and len(changed.added) == 2
    whole = delta.read_table(spark, str(table), 2)
    assert len(whole.inputFiles()) == 3
    assert_df_equality(df, whole.where("id >= 10"), ignore_row_order=True)


def test_a_merge_names_the_rewritten_file_on_both_sides(spark, table):
    spark.sql(
        f"MERGE INTO delta.`{table}` AS t USING (SELECT 5L AS id, 'changed' AS name) AS s "
        "ON t.id = s.id WHEN MATCHED THEN UPDATE SET t.name = s.name"
    )
    changed = files_changed(str(table), 2, 3)
    assert changed is not None and changed.plain
    assert len(changed.removed) == 1 and changed.removed.isdisjoint(changed.added)
    before = read_files(spark, str(table), 2, changed, changed.removed)
    after = read_files(spark, str(table), 3, changed, changed.added)
    assert before is not None and after is not None
    assert _ids(before) == list(range(10))
    assert [r.name for r in before.where("id = 5").collect()] == ["n5"]
    assert [r.name for r in after.where("id = 5").collect()] == ["changed"]
    assert_df_equality(after, delta.read_table(spark, str(table), 3).where("id < 10"), ignore_row_order=True)


def test_rows_a_deletion_vector_removed_are_kept(spark, tmp_path):
    path = tmp_path / "dv"
    spark.sql(
        f"CREATE TABLE delta.`{path}` ({SCHEMA}) USING delta "
        "TBLPROPERTIES ('delta.enableDeletionVectors' = 'true')"
    )
    _append(spark, path, range(10))
    key = "spark.databricks.delta.delete.deletionVectors.persistent"
    before = spark.conf.get(key, None)
    spark.conf.set(key, "true")  # the test session rewrites files instead
    try:
        spark.sql(f"DELETE FROM delta.`{path}` WHERE id = 3")
    finally:
        spark.conf.unset(key) if before is None else spark.conf.set(key, before)
    changed = files_changed(str(path), 1, 2)
    assert changed is not None and changed.plain
    # A deletion vector leaves the file in place: it is in both sets.
    assert changed.added == changed.removed and len(changed.added) == 1
    df = read_files(spark, str(path), 2, changed, changed.added)
    assert df is not None
    # A superset of the Delta read: the deleted row is still in the file.
    assert _ids(df) == list(range(10))
    assert _ids(delta.read_table(spark, str(path), 2)) == [i for i in range(10) if i != 3]


def test_partition_folders_are_left_to_delta(spark, tmp_path):
    path = tmp_path / "parted"
    spark.sql(f"CREATE TABLE delta.`{path}` ({SCHEMA}) USING delta PARTITIONED BY (day)")
    _append(spark, path, range(6))
    changed = files_changed(str(path), 0, 1)
    assert changed is not None and not changed.plain and len(changed.added) == 3
    assert read_files(spark, str(path), 1, changed, changed.added) is None


def test_a_schema_change_in_the_range_is_left_to_delta(spark, table):
    spark.sql(f"ALTER TABLE delta.`{table}` ADD COLUMNS (extra STRING)")
    changed = files_changed(str(table), 1, 3)
    assert changed is not None and not changed.plain
    assert read_files(spark, str(table), 3, changed, changed.added) is None


def test_column_mapping_is_left_to_delta(spark, tmp_path):
    path = tmp_path / "mapped"
    spark.sql(
        f"CREATE TABLE delta.`{path}` ({SCHEMA}) USING delta TBLPROPERTIES ("
        "'delta.columnMapping.mode' = 'name', 'delta.minReaderVersion' = '2', "
        "'delta.minWriterVersion' = '5')"
    )
    _append(spark, path, range(4))
    _append(spark, path, range(4, 8))
    changed = files_changed(str(path), 1, 2)
    assert changed is not None and changed.plain
    assert read_files(spark, str(path), 2, changed, changed.added) is None


def test_a_root_with_glob_characters_is_left_to_delta(spark, tmp_path):
    path = tmp_path / "odd[1]"
    _append(spark, path, range(3))
    _append(spark, path, range(3, 6))
    changed = files_changed(str(path), 0, 1)
    assert changed is not None and changed.plain
    assert read_files(spark, str(path), 1, changed, changed.added) is None


def test_a_missing_commit_file_answers_none(table):
    (table / "_delta_log" / f"{1:020d}.json").unlink()
    assert files_changed(str(table), 0, 2) is None


def test_type_widening_is_left_to_delta(spark, tmp_path):
    path = str(tmp_path / "widened")
    spark.sql(
        f"CREATE TABLE delta.`{path}` (n SMALLINT) USING delta "
        "TBLPROPERTIES ('delta.enableTypeWidening' = 'true')"
    )
    spark.sql(f"INSERT INTO delta.`{path}` VALUES (1)")
    spark.sql(f"ALTER TABLE delta.`{path}` CHANGE COLUMN n TYPE INT")
    spark.sql(f"INSERT INTO delta.`{path}` VALUES (70000)")  # version 3: older files hold SMALLINT
    changed = files_changed(path, 2, 3)
    assert changed is not None and changed.plain
    assert read_files(spark, path, 3, changed, changed.added) is None
    # Turned off again, the table keeps the feature (and its narrower files).
    spark.sql(f"ALTER TABLE delta.`{path}` SET TBLPROPERTIES ('delta.enableTypeWidening' = 'false')")
    spark.sql(f"INSERT INTO delta.`{path}` VALUES (2)")
    changed = files_changed(path, 4, 5)
    assert changed is not None and changed.plain
    assert read_files(spark, path, 5, changed, changed.added) is None
