"""The distribution as published: name, metadata, licence, one version, twine-clean files.

The wheel installs on Databricks without dragging in a second pyspark, and it is built by
``scripts/build-wheel.sh``, the same script the CI pipeline and the Databricks bundle run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import zipfile
from email.parser import Parser
from importlib.metadata import version
from pathlib import Path

import pytest

import lakehouse

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

DIST = "lakehouse-etl"


def build_script(
    repo: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run scripts/build-wheel.sh as the pipeline and the bundle do."""
    script = str(repo / "scripts" / "build-wheel.sh")
    return subprocess.run(["bash", script, *args], capture_output=True, text=True, env=env)


def test_the_version_has_one_source(repo_root: Path) -> None:
    # pyproject.toml declares the version dynamic, read from lakehouse.__version__.
    pyproject = tomllib.loads((repo_root / "pyproject.toml").read_text())
    assert "version" not in pyproject["project"]
    assert "version" in pyproject["project"]["dynamic"]
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "lakehouse.__version__"}
    assert version(DIST) == lakehouse.__version__


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, repo_root: Path) -> tuple[Path, Path]:
    out = tmp_path_factory.mktemp("dist")
    done = build_script(repo_root, "--build-number", "42", "--outdir", str(out))
    assert done.returncode == 0, done.stderr
    stamped = f"{lakehouse.__version__}.dev42"
    wheel, sdist = out / f"lakehouse_etl-{stamped}-py3-none-any.whl", out / f"lakehouse_etl-{stamped}.tar.gz"
    assert sorted(out.iterdir()) == [wheel, sdist]
    assert done.stdout.strip() == str(wheel)  # the script prints the wheel it built
    return wheel, sdist


@pytest.mark.slow
def test_twine_check_passes_on_wheel_and_sdist(built: tuple[Path, Path]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "twine", "--no-color", "check", "--strict", *map(str, built)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("PASSED") == 2, done.stdout


@pytest.mark.slow
def test_wheel_metadata_names_licence_urls_and_python_versions(
    built: tuple[Path, Path], repo_root: Path
) -> None:
    wheel, sdist = built
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        meta = Parser().parsestr(archive.read(next(n for n in names if n.endswith("/METADATA"))).decode())
        licence = archive.read(next(n for n in names if n.endswith("/licenses/LICENSE"))).decode()
    assert meta["Name"] == DIST
    assert meta["Version"] == f"{lakehouse.__version__}.dev42"
    assert meta["License-Expression"] == "Apache-2.0"
    assert "Apache License" in licence and "Version 2.0, January 2004" in licence
    assert licence == (repo_root / "LICENSE").read_text()
    assert meta.get_all("Project-URL"), "no project URLs"
    classifiers = meta.get_all("Classifier")
    assert "Programming Language :: Python :: 3.11" in classifiers
    assert meta["Requires-Python"] == ">=3.10"
    assert meta["Description-Content-Type"] == "text/markdown"
    with tarfile.open(sdist) as archive:
        members = {m.name.split("/", 1)[1] for m in archive.getmembers() if "/" in m.name}
    assert {"LICENSE", "README.md", "pyproject.toml", "src/lakehouse/__init__.py"} <= members


@pytest.mark.slow
def test_wheel_keeps_spark_optional(built: tuple[Path, Path]) -> None:
    wheel, _ = built
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        meta = Parser().parsestr(archive.read(next(n for n in names if n.endswith("/METADATA"))).decode())
        entry_points = archive.read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    requires = meta.get_all("Requires-Dist")
    spark_reqs = [r for r in requires if r.startswith(("pyspark", "delta-spark"))]
    assert spark_reqs, "pyspark/delta-spark should be offered as an extra"
    assert all('extra == "spark"' in r for r in spark_reqs), spark_reqs
    assert "lakehouse/py.typed" in names
    assert "lakehouse/resources/log4j2.properties" in names
    templates = "lakehouse/scaffold/templates/"  # lakehouse init's project
    assert f"{templates}conf/pipelines/pipeline.yml" in names
    assert f"{templates}tests/test_pipeline.py.tmpl" in names and f"{templates}gitignore" in names
    assert "lakehouse = lakehouse.cli:main" in entry_points
    assert "lakehouse-job = lakehouse.orchestration:console_job" in entry_points


def test_build_script_refuses_a_bad_build_number(tmp_path: Path, repo_root: Path) -> None:
    done = build_script(repo_root, "--build-number", "1.2", "--outdir", str(tmp_path))
    assert done.returncode == 2
    assert "--build-number must be digits" in done.stderr


def test_build_script_passes_a_given_wheel_through(tmp_path: Path, repo_root: Path) -> None:
    given = tmp_path / "given" / "lakehouse_etl-9.9.9.dev1-py3-none-any.whl"
    given.parent.mkdir()
    given.write_bytes(b"stand-in bytes: copied, not built")
    out = tmp_path / "out"
    out.mkdir()
    (out / "lakehouse_etl-0.0.1-py3-none-any.whl").write_bytes(b"an older build")
    done = build_script(repo_root, "--outdir", str(out), env={**os.environ, "LAKEHOUSE_WHEEL": str(given)})
    assert done.returncode == 0, done.stderr
    assert [p.name for p in out.iterdir()] == [given.name]
    assert (out / given.name).read_bytes() == given.read_bytes()
