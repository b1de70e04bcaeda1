"""Where the conf, the samples and the fixtures' scratch tables are found: locally, and on
Databricks in workspace files and Unity Catalog Volumes (never the DBFS root)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakehouse import testing
from lakehouse.errors import LakehouseError
from lakehouse.orchestration import default_conf_dir

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture()
def bundle_files(tmp_path: Path) -> Path:
    """A folder laid out as the bundle deploys the repository's files."""
    for folder in ("conf/pipelines", "samples", "notebooks", "integration_tests"):
        (tmp_path / folder).mkdir(parents=True)
    return tmp_path


def test_conf_dir_from_a_clone_and_from_a_deployed_notebook_folder(bundle_files, monkeypatch) -> None:
    monkeypatch.delenv("LAKEHOUSE_CONF_DIR", raising=False)
    monkeypatch.chdir(bundle_files)
    assert Path(default_conf_dir()).resolve() == bundle_files / "conf"
    monkeypatch.chdir(bundle_files / "notebooks")  # a notebook's working directory on Databricks
    assert Path(default_conf_dir()).resolve() == bundle_files / "conf"
    monkeypatch.chdir(bundle_files / "conf" / "pipelines")  # no conf here or one up
    assert default_conf_dir() == "conf"


def test_conf_dir_setting_wins(bundle_files, monkeypatch) -> None:
    monkeypatch.chdir(bundle_files)
    monkeypatch.setenv("LAKEHOUSE_CONF_DIR", "/Workspace/Shared/lakehouse/conf")
    assert default_conf_dir() == "/Workspace/Shared/lakehouse/conf"


def test_samples_from_a_clone_a_deployed_fixture_folder_or_the_setting(bundle_files, monkeypatch) -> None:
    monkeypatch.delenv("LAKEHOUSE_SAMPLES", raising=False)
    monkeypatch.chdir(bundle_files)
    assert testing.samples_dir() == bundle_files / "samples"
    monkeypatch.chdir(bundle_files / "integration_tests")
    assert testing.samples_dir() == bundle_files / "samples"
    monkeypatch.setenv("LAKEHOUSE_SAMPLES", str(REPO / "samples"))
    assert testing.manifest()["files"], "the shipped manifest lists the sample files"


def test_scratch_under_the_configured_folder(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("LAKEHOUSE_SCRATCH", str(tmp_path / "volume"))
    first, second = testing.new_scratch("it"), testing.new_scratch("it")
    assert first.local_path.parent == second.local_path.parent == tmp_path / "volume"
    assert first.local_path != second.local_path and first.local_path.name.startswith("it-")
    assert first.spark("lake", "bronze") == f"{first.local_path}/lake/bronze"
    assert first.local("landing") == first.local_path / "landing"


def test_scratch_on_databricks_needs_a_volume_folder(monkeypatch) -> None:
    monkeypatch.delenv("LAKEHOUSE_SCRATCH", raising=False)
    monkeypatch.setattr(testing, "ON_DATABRICKS", True)
    with pytest.raises(LakehouseError, match=r"LAKEHOUSE_SCRATCH is not set.*/Volumes/"):
        testing.new_scratch()


def test_scratch_locally_defaults_to_a_fresh_temp_folder(monkeypatch) -> None:
    monkeypatch.delenv("LAKEHOUSE_SCRATCH", raising=False)
    monkeypatch.setattr(testing, "ON_DATABRICKS", False)
    scratch = testing.new_scratch("it")
    assert scratch.local_path.is_dir() and not any(scratch.local_path.iterdir())
    assert scratch.spark_path == str(scratch.local_path)


def test_job_entry_point_returns_on_success_and_raises_on_failure(capsys, monkeypatch) -> None:
    from lakehouse.orchestration import JobFailedError, console_job

    monkeypatch.setenv("LAKEHOUSE_PII_SALT", "test-salt")  # the sample hashes a column with it

    assert console_job(["validate-config", "--config", str(REPO / "conf/pipelines/devices.yml")]) is None
    assert "devices.yml (env local): ok" in capsys.readouterr().out
    failed = r"lakehouse validate-config --config nowhere.yml failed with exit code 2"
    with pytest.raises(JobFailedError, match=failed):
        console_job(["validate-config", "--config", "nowhere.yml"])
    assert "lakehouse: configuration error: nowhere.yml" in capsys.readouterr().err
