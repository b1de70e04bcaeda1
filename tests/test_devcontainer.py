"""The dev container works offline: its image fetches the Delta jars at build time.

Docker does not run here, so the image's recipe is checked for what it must do, and the
script it runs, scripts/fetch_jars.py, is run for real: it downloads the jars of the pinned
pair from Maven Central, and a Spark session given only those jars (LAKEHOUSE_SPARK_JARS,
an empty Ivy folder) writes and reads a Delta table.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CONFIG = json.loads((REPO / ".devcontainer" / "devcontainer.json").read_text(encoding="utf-8"))
DOCKERFILE = (REPO / ".devcontainer" / CONFIG["build"]["dockerfile"]).read_text(encoding="utf-8")


def _env(name: str) -> str:
    found = re.search(rf"\b{name}=(\S+)", DOCKERFILE)
    assert found, f"the Dockerfile sets no {name}"
    return found.group(1)


def test_image_fetches_the_jars_of_each_pinned_pair_and_points_spark_at_them() -> None:
    assert CONFIG["build"]["context"] == ".."  # constraints*.txt and scripts/ are in the context
    assert "COPY constraints.txt constraints-spark35.txt scripts/fetch_jars.py" in DOCKERFILE
    assert 'fetch_jars.py "/opt/lakehouse/jars/$name"' in DOCKERFILE
    assert "spark4:constraints.txt spark35:constraints-spark35.txt" in DOCKERFILE
    assert _env("LAKEHOUSE_SPARK_JARS") == "/opt/lakehouse/jars/spark4/*.jar"
    assert _env("LAKEHOUSE_SPARK35_JARS") == "/opt/lakehouse/jars/spark35/*.jar"
    assert "openjdk-17-jdk-headless" in DOCKERFILE


def test_compat_lane_uses_the_jars_of_its_own_pair() -> None:
    script = (REPO / "scripts" / "test-compat.sh").read_text(encoding="utf-8")
    assert 'export LAKEHOUSE_SPARK_JARS="${LAKEHOUSE_SPARK35_JARS:-}"' in script


def test_caches_extensions_and_post_create() -> None:
    volumes = {m["target"]: m for m in CONFIG["mounts"]}
    assert set(volumes) == {"/home/vscode/.cache/pip", "/home/vscode/.ivy2.5.2"}
    assert all(m["type"] == "volume" for m in volumes.values())
    assert CONFIG["containerEnv"]["PIP_CACHE_DIR"] == "/home/vscode/.cache/pip"
    extensions = CONFIG["customizations"]["vscode"]["extensions"]
    assert set(extensions) == {
        "ms-python.python",
        "charliermarsh.ruff",
        "ms-toolsai.jupyter",
        "redhat.vscode-yaml",
        "databricks.databricks",
    }
    assert CONFIG["postCreateCommand"] == "scripts/setup.sh && scripts/test.sh -m 'not slow'"


PROBE = """
import json, sys
from lakehouse.spark import get_spark

spark = get_spark(profile="test")
path = sys.argv[1]
spark.range(5).selectExpr("id", "id * 2 AS twice").write.format("delta").save(path)
rows = [tuple(r) for r in spark.read.format("delta").load(path).orderBy("id").collect()]
version = spark.sql(f"DESCRIBE HISTORY delta.`{path}`").select("version").collect()[0][0]
packages = spark.sparkContext.getConf().get("spark.jars.packages", "")
spark.stop()
print(json.dumps({"rows": rows, "version": version, "packages": packages}))
"""


@pytest.mark.slow
def test_fetched_jars_start_delta_with_no_resolver(tmp_path: Path) -> None:
    jars, ivy, empty_ivy = tmp_path / "jars", tmp_path / "ivy", tmp_path / "empty-ivy"
    fetched = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "fetch_jars.py"), str(jars), "--ivy", str(ivy)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert fetched.returncode == 0, fetched.stderr[-3000:]
    names = sorted(p.name for p in jars.glob("*.jar"))
    from importlib.metadata import version

    assert f"io.delta_delta-storage-{version('delta-spark')}.jar" in names
    assert any(n.startswith("io.delta_delta-spark_") for n in names), names
    assert f'export LAKEHOUSE_SPARK_JARS="{jars}/*.jar"' in fetched.stdout

    empty_ivy.mkdir()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PYSPARK_GATEWAY_")},
        "LAKEHOUSE_SPARK_JARS": f"{jars}/*.jar",
        "LAKEHOUSE_CACHE_DIR": str(tmp_path / "no-remembered-jars"),
        "PYSPARK_SUBMIT_ARGS": f"--conf spark.jars.ivy={empty_ivy} pyspark-shell",
    }
    probe = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path / "table")],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert probe.returncode == 0, probe.stderr[-3000:]
    result = json.loads(probe.stdout.strip().splitlines()[-1])
    assert result == {"rows": [[i, 2 * i] for i in range(5)], "version": 0, "packages": ""}
    assert list(empty_ivy.iterdir()) == []  # nothing was resolved
