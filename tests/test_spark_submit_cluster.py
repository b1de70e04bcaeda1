"""spark-submit on a real Spark standalone cluster (a master and a worker started here)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

import pytest

DELTA_PACKAGE = "io.delta:delta-spark_{spark}_2.13:{delta}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _spark_bin(name: str) -> str:
    import pyspark

    return str(Path(pyspark.__file__).parent / "bin" / name)


def _wait_for(condition, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    raise TimeoutError(f"{what} not ready after {timeout}s")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A standalone master with one 1-core worker on loopback; yields (master URL, work dir)."""
    logs = tmp_path_factory.mktemp("cluster-logs")
    port = _free_port()
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_LOG_DIR": str(logs)}
    master_args = ["--host", "127.0.0.1", "--port", str(port), "--webui-port", str(_free_port())]
    master = subprocess.Popen(
        [_spark_bin("spark-class"), "org.apache.spark.deploy.master.Master", *master_args],
        stdout=(logs / "master.log").open("w"),
        stderr=subprocess.STDOUT,
        env=env,
    )
    url = f"spark://127.0.0.1:{port}"
    worker_args = ["--cores", "1", "--memory", "1g", "--webui-port", str(_free_port())]
    worker = subprocess.Popen(
        [_spark_bin("spark-class"), "org.apache.spark.deploy.worker.Worker", *worker_args, url],
        stdout=(logs / "worker.log").open("w"),
        stderr=subprocess.STDOUT,
        env={**env, "SPARK_WORKER_DIR": str(logs / "work")},
    )
    try:
        _wait_for(
            lambda: "Successfully registered with master" in (logs / "worker.log").read_text(),
            120,
            "standalone worker",
        )
        yield url, logs / "work"
    finally:
        for proc in (worker, master):
            proc.terminate()
        for proc in (worker, master):
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.mark.slow
def test_spark_submit_runs_the_pipeline_on_a_standalone_cluster(
    cluster: tuple[str, Path], tmp_path: Path, repo_root: Path
) -> None:
    import pyspark

    url, work_dir = cluster
    spark_minor = ".".join(pyspark.__version__.split(".")[:2])
    package = DELTA_PACKAGE.format(spark=spark_minor, delta=version("delta-spark"))
    root = tmp_path / "lake"
    env = {
        **os.environ,
        "SPARK_LOCAL_IP": "127.0.0.1",
        "PYSPARK_PYTHON": sys.executable,
        "PYSPARK_DRIVER_PYTHON": sys.executable,
        "LAKEHOUSE_ROOT": str(root),
        "LAKEHOUSE_PII_SALT": "cluster-test-salt",
        "LAKEHOUSE_LOG_FORMAT": "json",
    }
    command = [
        _spark_bin("spark-submit"),
        "--master", url,
        "--deploy-mode", "client",
        "--packages", package,
        "--conf", "spark.sql.extensions=io.delta.sql.DeltaSparkSessionExtension",
        "--conf", "spark.sql.catalog.spark_catalog=org.apache.spark.sql.delta.catalog.DeltaCatalog",
        "--conf", "spark.executor.memory=1g",
        "--conf", "spark.sql.shuffle.partitions=2",
        str(repo_root / "src/lakehouse/__main__.py"),
        "run", "--config", str(repo_root / "conf/pipelines/devices.yml"), "--env", "local",
        "--dataset", "device_config", "--json",
    ]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, env=env, cwd=repo_root, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    assert summary["status"] == "succeeded"
    manifest = json.loads((repo_root / "samples/MANIFEST.json").read_text())
    landed = sum(f["data_rows"] for f in manifest["files"] if f["dataset"] == "device_config")
    bronze = summary["datasets"]["device_config"]["bronze"]
    assert bronze["rows_written"] == landed
    assert summary["datasets"]["device_config"]["silver"]["rows_read"] == landed
    # The application really ran on the cluster: the worker launched an executor for it.
    assert list(work_dir.glob("app-*/*/stderr")), "no executor was launched on the worker"
