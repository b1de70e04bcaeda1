"""Folders of one benchmark run: landing folders linked to the cached data, lakes, copies.

A landing folder is built from hard links to the generated files (no copy, same bytes, same
modification times), so every run of a scenario reads identical input. Run folders live
next to the cached data (same file system) and are removed when the invocation ends.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from benchmarks.generate import load_manifest


def link(src: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dest)
    except OSError:  # another file system: copy instead
        shutil.copy2(src, dest)


def link_tree(src: Path, dest: Path) -> None:
    """Hard-link copy of a folder (for trees nothing writes into, like a bronze table read by silver)."""
    for path in src.rglob("*"):
        if path.is_file():
            link(path, dest / path.relative_to(src))


@dataclass(frozen=True)
class Workspace:
    """One variant's folders for a scenario: ``landing/`` and ``lake/`` under ``path``."""

    path: Path
    data: Path
    shared_landing: Path | None = None

    @property
    def landing(self) -> Path:
        return self.shared_landing or self.path / "landing"

    @property
    def lake(self) -> Path:
        return self.path / "lake"

    def table(self, layer: str, name: str) -> Path:
        return self.lake / layer / name

    def land_base(self) -> None:
        """Link the base usage files and the device_config files into the landing folder."""
        manifest = load_manifest(self.data)
        for rel in manifest["usage"]["files"]:
            link(self.data / rel, self.landing / rel)
        for path in (self.data / "device_config").rglob("*.json"):
            link(path, self.landing / path.relative_to(self.data))

    def land_extra(self, start: int, count: int) -> int:
        """Land extra usage files ``start .. start+count-1``; return the rows they hold."""
        entries = load_manifest(self.data)["extra"][start : start + count]
        if len(entries) < count:
            raise ValueError(f"the generated data has only {start + len(entries)} extra files")
        for entry in entries:
            link(self.data / entry["path"], self.landing / entry["path"].removeprefix("extra/"))
        return sum(e["rows"] for e in entries)

    def land_changes(self, layout: str) -> Path:
        """Land the change file of ``layout`` (1% of the keys with new values)."""
        src = next((self.data / "changes" / layout).rglob("*.csv.gz"))
        dest = self.landing / "usage" / "changes" / src.name
        link(src, dest)
        return dest

    def copy_lake(self, dest: Path) -> Workspace:
        """A copy of the lake that reads the same landing folder.

        Bronze remembers the files it ingested by path, so the copy must keep the landing
        path to see only what lands after the copy as new.
        """
        other = Workspace(dest, self.data, shared_landing=self.landing)
        shutil.copytree(self.lake, other.lake)
        return other

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
