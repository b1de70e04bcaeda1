"""Delta's jars for local sessions: the artifact name, the stand-in for unpublished releases,
and one-line errors when nothing resolves (real Ivy resolution, real Maven metadata)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lakehouse.errors import SparkSetupError
from lakehouse.maven import fallback_version
from lakehouse.spark_jars import (
    cache_file,
    delta_artifact,
    delta_package,
    installed_versions,
    package_of,
    resolve_delta_jars,
)


def test_artifact_is_named_as_delta_spark_names_it() -> None:
    from delta import configure_spark_with_delta_pip
    from pyspark.sql import SparkSession

    pyspark_version, delta_version = installed_versions()
    assert delta_version is not None
    builder = SparkSession.Builder()
    before = dict(builder._options)  # Spark 3.5 shares the options between builders
    try:
        asked = configure_spark_with_delta_pip(builder)._options["spark.jars.packages"]
    finally:
        builder._options.clear()
        builder._options.update(before)
    assert asked == delta_package(pyspark_version, delta_version)


@pytest.mark.parametrize(
    ("pyspark_version", "delta_version", "artifact"),
    [
        ("3.5.8", "3.3.2", "delta-spark_2.12"),
        ("4.0.1", "4.0.1", "delta-spark_2.13"),
        ("4.1.1", "4.3.1", "delta-spark_4.1_2.13"),
        ("4.2.0", "4.4.1", "delta-spark_4.2_2.13"),
    ],
)
def test_artifact_scheme_per_delta_line(pyspark_version: str, delta_version: str, artifact: str) -> None:
    assert delta_artifact(pyspark_version, delta_version) == artifact


def test_stand_in_is_newest_release_not_newer_than_installed() -> None:
    published = ["4.1.0", "4.3.0-rc1", "4.3.0", "4.3.1", "4.4.0"]
    assert fallback_version("4.4.1", published, per_spark_line=True) == "4.4.0"
    assert fallback_version("4.3.2", published, per_spark_line=True) == "4.3.1"
    # no 4.2.x: a per-Spark-line artifact may stand in with an older minor release...
    assert fallback_version("4.2.5", ["4.1.0", "4.4.0"], per_spark_line=True) == "4.1.0"
    # ...an unsuffixed one (built for one Spark line per minor release) may not
    assert fallback_version("4.2.5", ["4.1.0", "4.4.0"], per_spark_line=False) is None
    assert fallback_version("4.0.0", ["4.4.0"], per_spark_line=True) is None


def test_jar_list_names_its_delta_package() -> None:
    jars = ["/x/io.delta_delta-storage-4.4.0.jar", "/x/io.delta_delta-spark_4.2_2.13-4.4.0.jar"]
    assert package_of(jars) == "io.delta:delta-spark_4.2_2.13:4.4.0"


def test_missing_explicit_jar_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    present = tmp_path / "a.jar"
    present.write_bytes(b"")
    monkeypatch.setenv("LAKEHOUSE_SPARK_JARS", f"{present},{tmp_path / 'missing.jar'}")
    with pytest.raises(SparkSetupError, match=r"missing\.jar, which does not exist"):
        resolve_delta_jars({})
    monkeypatch.setenv("LAKEHOUSE_SPARK_JARS", str(tmp_path / "nothing-*.jar"))
    with pytest.raises(SparkSetupError, match=r"nothing-\*\.jar, which matches no file"):
        resolve_delta_jars({})
    # a glob (as the dev container sets it) expands to the files it matches
    (tmp_path / "io.delta_delta-spark_4.2_2.13-4.4.0.jar").write_bytes(b"")
    monkeypatch.setenv("LAKEHOUSE_SPARK_JARS", f"{tmp_path}/*.jar")
    found = resolve_delta_jars({})
    assert found.source == "env" and found.package == "io.delta:delta-spark_4.2_2.13:4.4.0"
    assert sorted(found.paths) == sorted(str(p) for p in tmp_path.glob("*.jar"))


@pytest.fixture()
def first_start(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No remembered jar list and no LAKEHOUSE_SPARK_JARS: jars are resolved as on a first start."""
    monkeypatch.setenv("LAKEHOUSE_CACHE_DIR", str(tmp_path / "jar-lists"))
    monkeypatch.delenv("LAKEHOUSE_SPARK_JARS", raising=False)


@pytest.mark.slow
@pytest.mark.usefixtures("first_start")
def test_unpublished_delta_release_falls_back_to_newest_published_jar() -> None:
    # pip resolves pyspark 4.2.0 with delta-spark 4.4.1, whose jar Maven Central does not serve.
    found = resolve_delta_jars({}, pyspark_version="4.2.0", delta_version="4.4.1")
    assert found.source == "ivy"
    assert found.package == "io.delta:delta-spark_4.2_2.13:4.4.0"
    assert found.note and "io.delta:delta-spark_4.2_2.13:4.4.1 is not published" in found.note
    assert package_of(found.paths) == "io.delta:delta-spark_4.2_2.13:4.4.0"
    assert all(Path(p).is_file() for p in found.paths)
    remembered = cache_file("4.2.0", "4.4.1")
    assert remembered.read_text() == found.jars
    again = resolve_delta_jars({}, pyspark_version="4.2.0", delta_version="4.4.1")
    assert (again.source, again.jars) == ("cache", found.jars)


@pytest.mark.slow
@pytest.mark.usefixtures("first_start")
def test_spark_line_without_any_delta_jar_is_one_line_error() -> None:
    with pytest.raises(SparkSetupError) as caught:
        resolve_delta_jars({}, pyspark_version="9.9.0", delta_version="4.4.1")
    message = str(caught.value)
    assert "\n" not in message
    assert "io.delta:delta-spark_9.9_2.13:4.4.1 is not published" in message
    assert "LAKEHOUSE_SPARK_JARS" in message and "pip install" in message


def offline_resolver(folder: Path) -> dict[str, str]:
    """Ivy settings with one empty file-system repository: nothing can be resolved."""
    settings = folder / "ivysettings.xml"
    settings.write_text(
        "<ivysettings><settings defaultResolver='offline'/>"
        f"<caches defaultCacheDir='{folder / 'cache'}'/>"
        "<resolvers><filesystem name='offline'>"
        f"<artifact pattern='{folder / 'repo'}/[organisation]/[module]/[revision]/[artifact].[ext]'/>"
        "</filesystem></resolvers></ivysettings>"
    )
    return {"spark.jars.ivySettings": str(settings), "spark.jars.ivy": str(folder / "ivy")}


@pytest.mark.slow
def test_run_that_cannot_resolve_delta_fails_in_one_line(tmp_path: Path) -> None:
    """`lakehouse run` with a resolver that cannot reach Delta: one line, no Ivy report."""
    conf = "\n".join(f"    {k}: {v}" for k, v in offline_resolver(tmp_path).items())
    (tmp_path / "conf/pipelines").mkdir(parents=True)
    (tmp_path / "landing/things").mkdir(parents=True)
    (tmp_path / "landing/things/a.csv").write_text("id\n1\n")
    pipeline = tmp_path / "conf/pipelines/p.yml"
    pipeline.write_text(
        f"pipeline: p\nstorage: {{root: {tmp_path / 'lake'}, landing: {tmp_path / 'landing'}}}\n"
        f"spark:\n  conf:\n{conf}\n"
        "datasets:\n  things:\n    source: {format: csv, schema: infer}\n"
    )
    env = {"LAKEHOUSE_CACHE_DIR": str(tmp_path / "cache"), "LAKEHOUSE_LOG_FORMAT": "json"}
    out = subprocess.run(
        [sys.executable, "-m", "lakehouse", "run", "--config", str(pipeline), "--env", ""],
        capture_output=True,
        text=True,
        timeout=300,
        env={**_environ(), **env},
    )
    assert out.returncode == 1, out.stderr[-3000:]
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr[-3000:]
    assert lines[0].startswith("lakehouse: SparkSetupError: io.delta:delta-spark_")
    assert "is published but Spark's resolver could not fetch it" in lines[0]
    assert "LAKEHOUSE_SPARK_JARS" in lines[0]
    assert "JAVA_GATEWAY_EXITED" not in out.stderr and "::" not in out.stderr


def _environ() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k != "LAKEHOUSE_SPARK_JARS"}
