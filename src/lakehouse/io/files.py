"""Files without the JVM gateway: what bronze lists and peeks at, on any session.

Folders the driver can open as files (local folders, ``file:`` URIs, Unity Catalog Volumes
``/Volumes/...``, a FUSE mount on Databricks) are read with Python
(``os.scandir``, ``open``). Other URIs (``abfss://``, ``s3://``, ``gs://``) are listed with
Spark's ``binaryFile`` source, selecting only path, modification time and length (the file
content is never read), and peeked at with the ``text`` source. Only the public DataFrame API
is used, so the same code works on a classic session and over Spark Connect.
"""

from __future__ import annotations

import bz2
import gzip
import os
import re
import stat
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
# Mount points that are files for the driver's Python on Databricks (and plain folders here).
FUSE_PREFIXES = ("/Volumes/", "/Workspace/")


@dataclass(frozen=True)
class FileEntry:
    """One listed file: its path as Spark reads it, size in bytes, modification time (epoch ms)."""

    path: str
    size: int
    mtime: int

    @property
    def name(self) -> str:
        """The last path segment."""
        return self.path.rstrip("/").rsplit("/", 1)[-1]


def local_path(path: str) -> str | None:
    """The path the driver's Python can open for ``path``, or None for a remote URI.

    ``file:/x`` and ``file:///x`` are ``/x``; plain paths (``/Volumes/...`` included) are
    taken as they are (made absolute).
    """
    if path.startswith("file:"):
        rest = path[len("file:") :]
        return "/" + rest.lstrip("/")
    if _SCHEME.match(path):
        return None
    return os.path.abspath(path)


def spark_path(local: str) -> str:
    """How a local file is named to Spark: ``file:<path>``; Volume and workspace paths stay as given."""
    if local.startswith(FUSE_PREFIXES):
        return local
    return "file:" + local


def hidden(name: str) -> bool:
    """Files and folders Spark's file sources skip too: ``_SUCCESS``, ``_delta_log``, ``.crc``..."""
    return name.startswith((".", "_"))


def exists(spark: SparkSession, path: str) -> bool:
    """Whether a file or folder exists at ``path``."""
    local = local_path(path)
    if local is not None:
        return os.path.exists(local)
    try:
        spark.read.format("binaryFile").load(path).select("path").limit(0).collect()
    except Exception as exc:  # Spark says PATH_NOT_FOUND; anything else is a real error
        if "PATH_NOT_FOUND" in str(exc) or "does not exist" in str(exc):
            return False
        raise
    return True


def list_files(spark: SparkSession, root: str, skipped: dict[str, str] | None = None) -> list[FileEntry]:
    """Every visible file under ``root``, recursively (hidden files and folders left out).

    Locally, an entry that is not a readable file or folder (a dangling link, a FIFO, an
    entry gone before it could be looked at, a subfolder that cannot be listed) is left out
    and, when ``skipped`` is given, recorded there with the reason; otherwise it is ignored.
    """
    local = local_path(root)
    if local is not None:
        return _scan(local, skipped if skipped is not None else {})
    from pyspark.sql import functions as F  # noqa: N812

    rows = (
        spark.read.format("binaryFile")
        .option("recursiveFileLookup", "true")
        .load(root)
        .select("path", F.unix_millis("modificationTime").alias("mtime"), "length")
        .collect()
    )
    base = root.rstrip("/")
    out = []
    for path, mtime, length in rows:
        relative = str(path)[len(base) :].strip("/") if str(path).startswith(base) else str(path)
        if not any(hidden(part) for part in relative.split("/")):
            out.append(FileEntry(str(path), int(length), int(mtime)))
    return out


def _look(entry: os.DirEntry[str]) -> tuple[os.stat_result | None, str | None]:
    """An entry's status (links followed), or why it is neither a regular file nor a folder."""
    try:
        info = entry.stat()
    except FileNotFoundError:
        return None, "a dangling symbolic link" if entry.is_symlink() else "gone before it could be read"
    except OSError as exc:
        return None, f"cannot be read ({exc.strerror or type(exc).__name__})"
    if not (stat.S_ISDIR(info.st_mode) or stat.S_ISREG(info.st_mode)):
        return None, "not a regular file (a FIFO, socket or device)"
    return info, None


def _scan(base: str, skipped: dict[str, str] | None = None) -> list[FileEntry]:
    """Regular files under ``base``; other entries go to ``skipped`` (path -> why), never opened."""
    out: list[FileEntry] = []
    root = base.rstrip("/") or "/"
    folders = [root]
    while folders:
        folder = folders.pop()
        try:
            with os.scandir(folder) as listing:
                entries = list(listing)
        except OSError as exc:
            if folder == root or skipped is None:
                raise
            skipped[spark_path(folder)] = f"folder cannot be listed ({exc.strerror or type(exc).__name__})"
            continue
        for entry in entries:
            if hidden(entry.name):
                continue
            info, problem = _look(entry)
            if info is None:
                if skipped is not None:
                    skipped[spark_path(entry.path)] = str(problem)
            elif stat.S_ISDIR(info.st_mode):
                folders.append(entry.path)
            else:
                out.append(FileEntry(spark_path(entry.path), info.st_size, info.st_mtime_ns // 1_000_000))
    return out


def _open_local(path: str) -> object | None:
    """A binary stream of the file, decompressed by extension as Spark would; None if unknown."""
    lower = path.lower()
    if lower.endswith((".gz", ".gzip")):
        return gzip.open(path, "rb")
    if lower.endswith(".bz2"):
        return bz2.open(path, "rb")
    if lower.endswith((".lz4", ".snappy", ".zst", ".zstd", ".deflate")):
        return None  # codecs Python's standard library lacks: read through Spark
    return open(path, "rb")


def head(spark: SparkSession, path: str, limit: int) -> bytes:
    """Up to ``limit`` bytes from the start of a file, decompressed when its extension names a codec.

    Raises when the file cannot be read or decoded (e.g. a corrupt gzip stream). Local files
    are read by Python; others (and codecs Python lacks) through Spark's ``text`` source,
    whose lines are joined again (as UTF-8).
    """
    local = local_path(path)
    stream = _open_local(local) if local is not None else None
    if stream is not None:
        with stream as handle:  # type: ignore[attr-defined]
            data: bytes = handle.read(limit)
            return data
    lines = spark.read.text(path).limit(max(1, limit // 256)).collect()
    text = "\n".join(str(r[0]) for r in lines)
    return text.encode("utf-8")[:limit]
