"""``dbutils.fs`` on the local file system.

``dbfs:/x`` maps to ``<dbfs_root>/x``; ``file:/x`` and plain paths are local paths. Other
schemes (``abfss://``, ``s3://``) are rejected rather than silently written locally.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DBFS_ROOT = "./_lakehouse/dbfs"


@dataclass(frozen=True)
class FileInfo:
    """An entry of ``fs.ls``; directories end with ``/`` in path and name, as on Databricks."""

    path: str
    name: str
    size: int
    modificationTime: int  # noqa: N815 - Databricks' attribute name

    def isDir(self) -> bool:  # noqa: N802 - Databricks' method name
        """True for a directory."""
        return self.path.endswith("/")

    def isFile(self) -> bool:  # noqa: N802
        """True for a file."""
        return not self.isDir()


class LocalFs:
    """The subset of ``dbutils.fs`` that notebooks in this project use."""

    def __init__(self, dbfs_root: str | Path = DEFAULT_DBFS_ROOT) -> None:
        self.dbfs_root = Path(dbfs_root).resolve()

    def _local(self, path: str) -> Path:
        if path.startswith("dbfs:"):
            local = (self.dbfs_root / path[len("dbfs:") :].lstrip("/")).resolve()
            if local != self.dbfs_root and self.dbfs_root not in local.parents:
                raise ValueError(f"{path} points outside the local DBFS root {self.dbfs_root}")
            return local
        if path.startswith("file:"):
            rest = path[len("file:") :]
            # file:///tmp/x and file:/tmp/x both mean /tmp/x
            return Path("/" + rest.lstrip("/")) if rest.startswith("/") else Path(rest)
        if "://" in path:
            raise ValueError(f"{path}: only dbfs:/, file: and local paths work outside Databricks")
        return Path(path)

    def _uri(self, path: str, local: Path) -> str:
        """The path as ls reports it: in the caller's scheme, dirs with a trailing slash."""
        if path.startswith("dbfs:"):
            rel = local.resolve().relative_to(self.dbfs_root).as_posix()
            uri = "dbfs:/" + ("" if rel == "." else rel)
        else:
            uri = "file:" + str(local.resolve())
        return uri + "/" if local.is_dir() and not uri.endswith("/") else uri

    def ls(self, path: str) -> list[FileInfo]:
        """List a directory (or describe one file), sorted by name."""
        local = self._local(path)
        if not local.exists():
            raise FileNotFoundError(f"{path} does not exist (local path {local})")
        entries = sorted(local.iterdir()) if local.is_dir() else [local]
        infos = []
        for entry in entries:
            stat = entry.stat()
            child = path.rstrip("/") + "/" + entry.name if local.is_dir() else path
            uri = self._uri(child, entry)
            name = entry.name + ("/" if entry.is_dir() else "")
            size = 0 if entry.is_dir() else stat.st_size
            infos.append(FileInfo(uri, name, size, int(stat.st_mtime * 1000)))
        return infos

    def mkdirs(self, path: str) -> bool:
        """Create a directory and its parents."""
        self._local(path).mkdir(parents=True, exist_ok=True)
        return True

    def put(self, path: str, contents: str, overwrite: bool = False) -> bool:
        """Write a UTF-8 text file; refuse to replace one unless ``overwrite``."""
        local = self._local(path)
        if local.exists() and not overwrite:
            raise FileExistsError(f"{path} already exists; pass overwrite=True to replace it")
        local.parent.mkdir(parents=True, exist_ok=True)
        local.write_text(contents, encoding="utf-8")
        return True

    def head(self, path: str, maxBytes: int = 65536) -> str:  # noqa: N803
        """The first ``maxBytes`` bytes of a file as text."""
        with self._local(path).open("rb") as handle:
            return handle.read(maxBytes).decode("utf-8", errors="replace")

    def cp(self, src: str, dst: str, recurse: bool = False) -> bool:
        """Copy a file, or a directory tree when ``recurse``."""
        source, target = self._existing(src), self._local(dst)
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            self._require_recurse("cp", src, recurse)
            shutil.copytree(source, target, dirs_exist_ok=True)
        else:
            shutil.copyfile(source, target)
        return True

    def mv(self, src: str, dst: str, recurse: bool = False) -> bool:
        """Move a file, or a directory tree when ``recurse``."""
        source, target = self._existing(src), self._local(dst)
        if source.is_dir():
            self._require_recurse("mv", src, recurse)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(source, target)
        return True

    def rm(self, path: str, recurse: bool = False) -> bool:
        """Delete a file or empty directory (any directory when ``recurse``); False if absent."""
        local = self._local(path)
        if not local.exists():
            return False
        if local.is_dir():
            if any(local.iterdir()):
                self._require_recurse("rm", path, recurse)
            shutil.rmtree(local)
        else:
            local.unlink()
        return True

    def _existing(self, path: str) -> Path:
        local = self._local(path)
        if not local.exists():
            raise FileNotFoundError(f"{path} does not exist (local path {local})")
        return local

    @staticmethod
    def _require_recurse(op: str, path: str, recurse: bool) -> None:
        if not recurse:
            raise IsADirectoryError(f"fs.{op}: {path} is a directory; pass recurse=True")
