"""Config parsing: no Spark. Errors must name file, key path, value found and expected."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from lakehouse.config import load_config
from lakehouse.constants import secret_env_var
from lakehouse.errors import ConfigError, SecretError
from lakehouse.secrets import SecretRef

REPO_CONF = Path(__file__).resolve().parent.parent / "conf"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture()
def conf(tmp_path: Path) -> Path:
    write(
        tmp_path / "conf/contracts/events.yml",
        """
        primary_key: [id]
        columns:
          - {name: id, type: long, nullable: false}
          - {name: amount, type: "decimal(10,2)", min: 0}
    """,
    )
    write(
        tmp_path / "conf/envs/local.yml",
        """
        storage: {root: "${TEST_ROOT:-/tmp/lh-default}"}
    """,
    )
    write(
        tmp_path / "conf/envs/prod.yml",
        """
        storage: {root: "abfss://lake@acct.dfs.core.windows.net/x", checkpoints: /Volumes/main/lake/state}
        datasets: {events: {source: {max_files_per_batch: 7}}}
    """,
    )
    return write(
        tmp_path / "conf/pipelines/p.yml",
        """
        pipeline: p
        datasets:
          events:
            source: {format: csv, path: events, options: {header: true}}
            contract: ../contracts/events.yml
    """,
    )


def test_shipped_pipeline_loads_for_every_env(sample_pipeline: Path) -> None:
    for env in ("local", "dev", "prod"):
        config = load_config(sample_pipeline, env, environ={})
        assert set(config.datasets) == {"usage", "device_config"}
        assert config.datasets["usage"].layers == ("bronze", "silver", "gold")
    local = load_config(sample_pipeline, "local", environ={"LAKEHOUSE_ROOT": "/data/lh"})
    assert local.datasets["usage"].bronze_path == "/data/lh/bronze/usage"
    assert local.datasets["usage"].quarantine_path == "/data/lh/silver/usage_quarantine"
    prod = load_config(sample_pipeline, "prod", environ={})
    assert prod.storage.root.startswith("abfss://")
    assert prod.datasets["usage"].source.path.startswith("abfss://landing@")
    assert prod.datasets["usage"].contract.max_quarantine_rate == 0.02
    assert prod.datasets["usage"].contract.pii_salt == SecretRef(scope="lakehouse-prod", key="pii-salt")


def test_interpolation_default_and_override(conf: Path) -> None:
    assert load_config(conf, "local", environ={}).storage.root == "/tmp/lh-default"
    config = load_config(conf, "local", environ={"TEST_ROOT": "/srv/lake"})
    assert config.storage.root == "/srv/lake"
    assert config.storage.landing == "/srv/lake/landing"
    assert config.datasets["events"].source.path == "/srv/lake/landing/events"
    assert config.datasets["events"].contract.column("amount").type == "decimal(10,2)"
    assert config.datasets["events"].source.options == {"header": "true"}


def test_checkpoints_must_be_a_folder_the_driver_opens(conf: Path) -> None:
    prod = load_config(conf, "prod", environ={})
    assert prod.storage.checkpoint("silver", "events") == "/Volumes/main/lake/state/silver/events"
    overlay = conf.parent.parent / "envs/prod.yml"
    overlay.write_text('storage: {root: "abfss://lake@acct.dfs.core.windows.net/x"}\n')
    with pytest.raises(ConfigError) as caught:
        load_config(conf, "prod", environ={})
    error = caught.value
    assert error.key_path == "storage.checkpoints"
    assert error.found == "abfss://lake@acct.dfs.core.windows.net/x/_checkpoints"
    assert "Volume" in str(error)


def test_overlay_merges_per_key(conf: Path) -> None:
    config = load_config(conf, "prod", environ={})
    source = config.datasets["events"].source
    assert source.max_files_per_batch == 7
    assert source.format == "csv"  # untouched keys survive the merge
    assert config.datasets["events"].silver_path == "abfss://lake@acct.dfs.core.windows.net/x/silver/events"


def test_wrong_format_names_file_key_value_and_expected(conf: Path) -> None:
    conf.write_text(conf.read_text().replace("format: csv", "format: xlsx"))
    with pytest.raises(ConfigError) as info:
        load_config(conf, None, environ={})
    err = info.value
    assert err.file == str(conf)
    assert err.key_path == "datasets.events.source.format"
    assert err.found == "xlsx"
    assert "csv, json, orc, parquet" in str(err)


def test_error_in_contract_file_names_the_contract_file(conf: Path) -> None:
    contract = conf.parent.parent / "contracts/events.yml"
    contract.write_text(contract.read_text().replace("type: long", "type: lung"))
    with pytest.raises(ConfigError) as info:
        load_config(conf, None, environ={})
    assert info.value.file.endswith("contracts/events.yml")
    assert info.value.key_path == "datasets.events.contract.columns.0.type"
    assert info.value.found == "lung"


def test_error_in_overlay_names_the_overlay(conf: Path) -> None:
    overlay = conf.parent.parent / "envs/prod.yml"
    overlay.write_text(overlay.read_text().replace("max_files_per_batch: 7", "max_files_per_batch: many"))
    with pytest.raises(ConfigError) as info:
        load_config(conf, "prod", environ={})
    assert info.value.file.endswith("envs/prod.yml")
    assert info.value.key_path == "datasets.events.source.max_files_per_batch"


def test_unknown_key_suggests_the_close_one(conf: Path) -> None:
    conf.write_text(conf.read_text().replace("format: csv", "fromat: csv"))
    with pytest.raises(ConfigError, match=r"unknown key 'fromat'; did you mean 'format'\?"):
        load_config(conf, None, environ={})


def test_missing_env_var_without_default(conf: Path) -> None:
    conf.write_text(conf.read_text().replace("path: events", "path: '${EVENTS_DIR}'"))
    with pytest.raises(ConfigError, match="EVENTS_DIR is not set") as info:
        load_config(conf, None, environ={})
    assert info.value.key_path == "datasets.events.source.path"


def test_missing_env_overlay_lists_available(conf: Path) -> None:
    with pytest.raises(ConfigError, match="local, prod"):
        load_config(conf, "staging", environ={})


def test_invalid_yaml_names_line(tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.yml", "pipeline: p\ndatasets: [\n")
    with pytest.raises(ConfigError, match=r"invalid YAML at line \d+") as info:
        load_config(bad, None)
    assert info.value.file == str(bad)


def test_primary_key_must_be_a_column(conf: Path) -> None:
    contract = conf.parent.parent / "contracts/events.yml"
    contract.write_text(contract.read_text().replace("primary_key: [id]", "primary_key: [idd]"))
    with pytest.raises(ConfigError, match="primary key column 'idd'"):
        load_config(conf, None, environ={})


def test_inline_secret_is_rejected_without_echoing_it(conf: Path) -> None:
    contract = conf.parent.parent / "contracts/events.yml"
    contract.write_text(contract.read_text() + "pii_salt: hunter2-very-secret\n")
    with pytest.raises(ConfigError) as info:
        load_config(conf, None, environ={})
    assert "hunter2" not in str(info.value)
    assert "by reference" in str(info.value)


def test_secret_refs_resolve_from_env_and_never_show_value() -> None:
    ref = SecretRef(env="MY_SALT")
    assert ref.resolve({"MY_SALT": "s3cr3t"}) == "s3cr3t"
    assert "s3cr3t" not in repr(ref)
    scoped = SecretRef(scope="lake-dev", key="pii-salt")
    assert secret_env_var("lake-dev", "pii-salt") == "LAKEHOUSE_SECRET_LAKE_DEV_PII_SALT"
    assert scoped.resolve({"LAKEHOUSE_SECRET_LAKE_DEV_PII_SALT": "x"}) == "x"
    with pytest.raises(SecretError, match="LAKEHOUSE_SECRET_LAKE_DEV_PII_SALT is not set"):
        scoped.resolve({})


def test_config_is_frozen(conf: Path) -> None:
    config = load_config(conf, None, environ={})
    with pytest.raises(AttributeError):
        config.datasets["events"].source.format = "json"  # type: ignore[misc]


def test_loading_config_does_not_import_pyspark(conf: Path) -> None:
    import subprocess
    import sys

    code = (
        "import sys; from lakehouse.config import load_config; "
        f"load_config({str(conf)!r}, None, environ={{}}); "
        "print('pyspark' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("env", ["local", "dev", "staging", "prod"])
@pytest.mark.parametrize("pipeline", sorted(p.name for p in (REPO_CONF / "pipelines").glob("*.yml")))
def test_every_shipped_pipeline_loads_under_every_overlay(pipeline: str, env: str) -> None:
    # The overlays are shared by the pipelines of conf/: a dataset entry of one pipeline
    # (devices' usage salt) must not reach another (customers).
    environ = {"LAKEHOUSE_STORAGE_ACCOUNT": "acct"}
    config = load_config(REPO_CONF / "pipelines" / pipeline, env, environ=environ)
    assert config.datasets
    if env == "dev":
        usage = config.datasets.get("usage")
        assert usage is None or usage.contract.pii_salt is not None
