"""The dbutils stand-in: fs on local paths and secrets from the environment."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from lakehouse.notebooks import DBUtils, NotebookError, SecretNotFoundError, run_notebook
from lakehouse.notebooks.dbutils import Secrets, secret_variable


@pytest.fixture()
def fs(tmp_path: Path):
    return DBUtils(dbfs_root=str(tmp_path / "dbfs")).fs


def test_dbfs_paths_live_under_the_configured_root(fs, tmp_path: Path) -> None:
    assert fs.put("dbfs:/landing/a.txt", "hello") is True
    assert (tmp_path / "dbfs" / "landing" / "a.txt").read_text() == "hello"
    assert fs.head("dbfs:/landing/a.txt") == "hello"
    assert fs.head("dbfs:/landing/a.txt", maxBytes=2) == "he"


def test_put_refuses_to_overwrite_unless_asked(fs) -> None:
    fs.put("dbfs:/x.txt", "one")
    with pytest.raises(FileExistsError, match=r"dbfs:/x\.txt"):
        fs.put("dbfs:/x.txt", "two")
    fs.put("dbfs:/x.txt", "two", overwrite=True)
    assert fs.head("dbfs:/x.txt") == "two"


def test_ls_reports_files_and_directories(fs) -> None:
    fs.mkdirs("dbfs:/root/sub")
    fs.put("dbfs:/root/f.csv", "abc")
    listing = fs.ls("dbfs:/root")
    assert [(i.path, i.name, i.isDir()) for i in listing] == [
        ("dbfs:/root/f.csv", "f.csv", False),
        ("dbfs:/root/sub/", "sub/", True),
    ]
    assert listing[0].size == 3 and listing[0].isFile()
    assert listing[0].modificationTime > 1_600_000_000_000  # epoch milliseconds
    with pytest.raises(FileNotFoundError, match="dbfs:/missing"):
        fs.ls("dbfs:/missing")


def test_file_prefix_and_plain_paths_are_local(fs, tmp_path: Path) -> None:
    target = tmp_path / "local" / "b.txt"
    fs.put(f"file:{target}", "x")
    assert target.read_text() == "x"
    assert fs.head(str(target)) == "x"
    assert [i.path for i in fs.ls(f"file://{target.parent}")] == [f"file:{target}"]


def test_cp_mv_rm(fs) -> None:
    fs.put("dbfs:/src/dir/one.txt", "1")
    fs.cp("dbfs:/src/dir/one.txt", "dbfs:/copy/one.txt")
    assert fs.head("dbfs:/copy/one.txt") == "1"
    with pytest.raises(IsADirectoryError, match="recurse=True"):
        fs.cp("dbfs:/src/dir", "dbfs:/tree")
    fs.cp("dbfs:/src/dir", "dbfs:/tree", recurse=True)
    assert [i.name for i in fs.ls("dbfs:/tree")] == ["one.txt"]
    fs.mv("dbfs:/copy/one.txt", "dbfs:/moved/one.txt")
    assert [i.name for i in fs.ls("dbfs:/copy")] == []
    fs.mv("dbfs:/tree", "dbfs:/tree2", recurse=True)
    assert [i.name for i in fs.ls("dbfs:/")] == ["copy/", "moved/", "src/", "tree2/"]
    with pytest.raises(IsADirectoryError):
        fs.rm("dbfs:/src")
    assert fs.rm("dbfs:/src", recurse=True) is True
    assert fs.rm("dbfs:/src") is False
    assert fs.rm("dbfs:/copy") is True  # empty directory needs no recurse


def test_paths_cannot_escape_the_dbfs_root_or_use_cloud_schemes(fs) -> None:
    with pytest.raises(ValueError, match="outside"):
        fs.put("dbfs:/../escape.txt", "x")
    with pytest.raises(ValueError, match="abfss://"):
        fs.ls("abfss://container@account.dfs.core.windows.net/x")


def test_fs_inside_a_notebook_uses_dbfs_root(write_notebook, tmp_path: Path) -> None:
    nb = write_notebook(
        "nb.py",
        'dbutils.fs.put("dbfs:/out/result.txt", "42")',
        'dbutils.notebook.exit(dbutils.fs.ls("dbfs:/out")[0].name)',
    )
    root = tmp_path / "mydbfs"
    assert run_notebook(nb, dbfs_root=str(root)).exit_value == "result.txt"
    assert (root / "out" / "result.txt").read_text() == "42"


def test_secret_variable_name() -> None:
    assert secret_variable("prod-kv", "sql.password") == "LAKEHOUSE_SECRET_PROD_KV_SQL_PASSWORD"


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
