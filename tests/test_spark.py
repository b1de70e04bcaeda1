"""The session helper: reuse the active session, Delta configured, test profile applied."""

from __future__ import annotations

from lakehouse.spark import get_spark


def test_returns_the_active_session(spark) -> None:
    assert get_spark() is spark


def test_delta_and_test_profile_configured(spark, tmp_path) -> None:
    assert spark.conf.get("spark.sql.shuffle.partitions") == "2"
    assert spark.conf.get("spark.sql.session.timeZone") == "UTC"
    path = str(tmp_path / "t")
    spark.range(3).write.format("delta").save(path)
    history = spark.sql(f"DESCRIBE HISTORY delta.`{path}`").collect()
    assert [row.version for row in history] == [0]
    assert spark.read.format("delta").load(path).count() == 3
