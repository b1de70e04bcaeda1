"""A notebook run with the real local SparkSession sees it as ``spark``."""

from __future__ import annotations

import pytest

from lakehouse.notebooks import run_notebook


@pytest.mark.slow
def test_notebook_uses_the_given_spark_session(spark, write_notebook, capsys) -> None:
    nb = write_notebook(
        "nb.py",
        "df = spark.createDataFrame([('dev-00001', 3)], 'device_id string, events int')",
        "display(df)",
        "dbutils.notebook.exit(str(df.collect()[0]['events']))",
    )
    result = run_notebook(nb, spark=spark)
    assert result.exit_value == "3"
    shown = capsys.readouterr().out
    assert "device_id" in shown and "dev-00001" in shown
