"""The wheel installs on Databricks without dragging in a second pyspark."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_metadata_keeps_spark_optional(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(tmp_path), str(REPO)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("lakehouse-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        meta = next(n for n in names if n.endswith(".dist-info/METADATA"))
        requires = [
            line.split(":", 1)[1].strip()
            for line in archive.read(meta).decode().splitlines()
            if line.startswith("Requires-Dist:")
        ]
        entry_points = archive.read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    spark_reqs = [r for r in requires if r.startswith(("pyspark", "delta-spark"))]
    assert spark_reqs, "pyspark/delta-spark should be offered as an extra"
    assert all("extra ==" in r for r in spark_reqs), spark_reqs
    assert "lakehouse/py.typed" in names
    assert "lakehouse/resources/log4j2.properties" in names
    assert "lakehouse = lakehouse.cli:main" in entry_points
