"""The session helper: reuse the active session, Delta configured, test profile applied."""

from __future__ import annotations

import subprocess
import sys

import pytest

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


@pytest.mark.slow
def test_later_starts_skip_ivy_and_stay_quiet(spark, tmp_path) -> None:
    from lakehouse.spark_jars import cache_file, installed_versions

    pyspark_version, delta_version = installed_versions()
    assert delta_version is not None
    cache = cache_file(pyspark_version, delta_version)
    assert cache.is_file()
    assert "delta-spark" in cache.read_text()
    code = (
        "from lakehouse.spark import get_spark; s = get_spark(profile='test'); "
        f"s.range(2).write.format('delta').save({str(tmp_path / 't')!r}); print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "ok"
    assert "ivy" not in out.stderr.lower() and "resolving dependencies" not in out.stderr
