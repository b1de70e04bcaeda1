"""``dbutils.fs`` on the local file system.

Unity Catalog Volume paths ``/Volumes/<catalog>/<schema>/<volume>/x`` map to
``<volumes_root>/<catalog>/<schema>/<volume>/x``; ``file:/x`` and other plain paths are local
paths. Other schemes (``abfss://``, ``s3://``, the DBFS root) are rejected rather than
silently written locally: current Databricks runtimes disable the DBFS root, so notebooks
keep their files in Volumes or workspace files.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

DEFAULT_VOLUMES_ROOT = "./_lakehouse/volumes"
VOLUMES = "/Volumes/"
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


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

    def __init__(self, volumes_root: str | Path = DEFAULT_VOLUMES_ROOT) -> None:
        self.volumes_root = Path(volumes_root).resolve()

    def _local(self, path: str) -> Path:
        if path.startswith(VOLUMES):
            parts = [p for p in path[len(VOLUMES) :].split("/") if p]
            if len(parts) < 3:
                raise ValueError(f"{path}: a Volume path is {VOLUMES}<catalog>/<schema>/<volume>/...")
            local = self.volumes_root.joinpath(*parts).resolve()
            if self.volumes_root not in local.parents:
                raise ValueError(f"{path} points outside the local Volumes root {self.volumes_root}")
            return local
        if path.startswith("file:"):
            rest = path[len("file:") :]
            # file:///tmp/x and file:/tmp/x both mean /tmp/x
            return Path("/" + rest.lstrip("/")) if rest.startswith("/") else Path(rest)
        if _SCHEME.match(path):
            raise ValueError(f"{path}: only {VOLUMES}..., file: and local paths work outside Databricks")
        return Path(path)

    def _uri(self, path: str, local: Path) -> str:
        """The path as ls reports it: Volume paths as such, others as file:, dirs with a slash."""
        if path.startswith(VOLUMES):
            uri = VOLUMES + local.resolve().relative_to(self.volumes_root).as_posix()
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
