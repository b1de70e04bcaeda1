"""The dbutils stand-in: fs on local paths and secrets from the environment."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from lakehouse.constants import secret_env_var
from lakehouse.notebooks import DBUtils, NotebookError, SecretNotFoundError, run_notebook
from lakehouse.notebooks.dbutils import Secrets

VOL = "/Volumes/main/it/vol"


@pytest.fixture()
def fs(tmp_path: Path):
    return DBUtils(volumes_root=str(tmp_path / "volumes")).fs


def test_volume_paths_live_under_the_configured_root(fs, tmp_path: Path) -> None:
    assert fs.put(f"{VOL}/landing/a.txt", "hello") is True
    assert (tmp_path / "volumes" / "main" / "it" / "vol" / "landing" / "a.txt").read_text() == "hello"
    assert fs.head(f"{VOL}/landing/a.txt") == "hello"
    assert fs.head(f"{VOL}/landing/a.txt", maxBytes=2) == "he"


def test_put_refuses_to_overwrite_unless_asked(fs) -> None:
    fs.put(f"{VOL}/x.txt", "one")
    with pytest.raises(FileExistsError, match=r"/Volumes/main/it/vol/x\.txt"):
        fs.put(f"{VOL}/x.txt", "two")
    fs.put(f"{VOL}/x.txt", "two", overwrite=True)
    assert fs.head(f"{VOL}/x.txt") == "two"


def test_ls_reports_files_and_directories(fs) -> None:
    fs.mkdirs(f"{VOL}/root/sub")
    fs.put(f"{VOL}/root/f.csv", "abc")
    listing = fs.ls(f"{VOL}/root")
    assert [(i.path, i.name, i.isDir()) for i in listing] == [
        (f"{VOL}/root/f.csv", "f.csv", False),
        (f"{VOL}/root/sub/", "sub/", True),
    ]
    assert listing[0].size == 3 and listing[0].isFile()
    assert listing[0].modificationTime > 1_600_000_000_000  # epoch milliseconds
    with pytest.raises(FileNotFoundError, match="/Volumes/main/it/vol/missing"):
        fs.ls(f"{VOL}/missing")


def test_file_prefix_and_plain_paths_are_local(fs, tmp_path: Path) -> None:
    target = tmp_path / "local" / "b.txt"
    fs.put(f"file:{target}", "x")
    assert target.read_text() == "x"
    assert fs.head(str(target)) == "x"
    assert [i.path for i in fs.ls(f"file://{target.parent}")] == [f"file:{target}"]


def test_cp_mv_rm(fs) -> None:
    fs.put(f"{VOL}/src/dir/one.txt", "1")
    fs.cp(f"{VOL}/src/dir/one.txt", f"{VOL}/copy/one.txt")
    assert fs.head(f"{VOL}/copy/one.txt") == "1"
    with pytest.raises(IsADirectoryError, match="recurse=True"):
        fs.cp(f"{VOL}/src/dir", f"{VOL}/tree")
    fs.cp(f"{VOL}/src/dir", f"{VOL}/tree", recurse=True)
    assert [i.name for i in fs.ls(f"{VOL}/tree")] == ["one.txt"]
    fs.mv(f"{VOL}/copy/one.txt", f"{VOL}/moved/one.txt")
    assert [i.name for i in fs.ls(f"{VOL}/copy")] == []
    fs.mv(f"{VOL}/tree", f"{VOL}/tree2", recurse=True)
    assert [i.name for i in fs.ls(f"{VOL}/")] == ["copy/", "moved/", "src/", "tree2/"]
    with pytest.raises(IsADirectoryError):
        fs.rm(f"{VOL}/src")
    assert fs.rm(f"{VOL}/src", recurse=True) is True
    assert fs.rm(f"{VOL}/src") is False
    assert fs.rm(f"{VOL}/copy") is True  # empty directory needs no recurse


def test_paths_cannot_escape_the_volumes_root_or_use_other_schemes(fs) -> None:
    with pytest.raises(ValueError, match="outside"):
        fs.put("/Volumes/main/it/vol/../../../../escape.txt", "x")
    with pytest.raises(ValueError, match=r"a Volume path is /Volumes/<catalog>/<schema>/<volume>"):
        fs.put("/Volumes/main/it", "x")
    with pytest.raises(ValueError, match="abfss://"):
        fs.ls("abfss://container@account.dfs.core.windows.net/x")
    with pytest.raises(ValueError, match=r"only /Volumes/\.\.\., file: and local paths"):
        fs.ls("s3:/bucket/key")


def test_fs_inside_a_notebook_uses_the_volumes_root(write_notebook, tmp_path: Path) -> None:
    nb = write_notebook(
        "nb.py",
        'dbutils.fs.put("/Volumes/main/it/vol/out/result.txt", "42")',
        'dbutils.notebook.exit(dbutils.fs.ls("/Volumes/main/it/vol/out")[0].path)',
    )
    root = tmp_path / "myvolumes"
    assert run_notebook(nb, volumes_root=str(root)).exit_value == "/Volumes/main/it/vol/out/result.txt"
    assert (root / "main" / "it" / "vol" / "out" / "result.txt").read_text() == "42"


def test_secret_variable_name() -> None:
    assert secret_env_var("prod-kv", "sql.password") == "LAKEHOUSE_SECRET_PROD_KV_SQL_PASSWORD"


def test_secret_read_from_environment_without_logging_it(write_notebook, monkeypatch, caplog):
    monkeypatch.setenv("LAKEHOUSE_SECRET_KV_DB_PASSWORD", "s3cr3t-value")
    nb = write_notebook(
        "nb.py",
        'pw = dbutils.secrets.get(scope="kv", key="db-password")',
        "dbutils.notebook.exit(str(len(pw)))",
    )
    with caplog.at_level(logging.DEBUG):
        assert run_notebook(nb).exit_value == "12"
    assert "kv" in caplog.text  # the read is logged ...
    assert "s3cr3t-value" not in caplog.text  # ... its value never


def test_missing_secret_names_scope_key_and_variable(write_notebook, monkeypatch) -> None:
    monkeypatch.delenv("LAKEHOUSE_SECRET_KV_API_TOKEN", raising=False)
    nb = write_notebook("nb.py", 'dbutils.secrets.get("kv", "api-token")')
    with pytest.raises(NotebookError) as info:
        run_notebook(nb)
    cause = info.value.__cause__
    assert isinstance(cause, SecretNotFoundError)
    assert (cause.scope, cause.key, cause.variable) == ("kv", "api-token", "LAKEHOUSE_SECRET_KV_API_TOKEN")
    assert "'kv'" in str(cause) and "'api-token'" in str(cause)
    assert "LAKEHOUSE_SECRET_KV_API_TOKEN" in str(cause)


def test_secrets_list_only_the_scope() -> None:
    secrets = Secrets(
        {"LAKEHOUSE_SECRET_KV_A": "1", "LAKEHOUSE_SECRET_KV_B_C": "2", "LAKEHOUSE_SECRET_KVX_D": "3"}
    )
    assert [m.key for m in secrets.list("kv")] == ["A", "B_C"]
    assert secrets.get("kv", "b-c") == "2"
    assert secrets.getBytes("kv", "a") == b"1"
