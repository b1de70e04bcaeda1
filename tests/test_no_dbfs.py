"""No tracked file uses a DBFS-root path: current Databricks runtimes disable the DBFS root.

The one place allowed to show such paths is the migration section of docs/deploy.md, which
explains what replaced them.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DBFS = re.compile(r"dbfs:/|/dbfs/", re.IGNORECASE)
MIGRATION_DOC = "docs/deploy.md"
MIGRATION_HEADING = re.compile(r"^(#+) Migrating from ", re.IGNORECASE)
THIS_FILE = "tests/test_no_dbfs.py"  # holds the pattern itself


def _migration_lines(lines: list[str]) -> set[int]:
    """Line numbers inside the "Migrating from ..." section of a Markdown file."""
    inside, level, found = False, 0, set()
    for number, line in enumerate(lines, 1):
        heading = re.match(r"^(#+) ", line)
        if heading and inside and len(heading.group(1)) <= level:
            inside = False
        start = MIGRATION_HEADING.match(line)
        if start:
            inside, level = True, len(start.group(1))
        if inside:
            found.add(number)
    return found


def dbfs_paths(repo: Path) -> list[str]:
    """``file:line: text`` for every DBFS path in the tracked files, outside the allowed place."""
    names = subprocess.run(
        ["git", "ls-files", "-z"], cwd=repo, check=True, capture_output=True, text=True
    ).stdout.split("\0")
    found = []
    for name in filter(None, names):
        if name == THIS_FILE:
            continue
        try:
            lines = (repo / name).read_text(encoding="utf-8").splitlines()
        except (UnicodeDecodeError, FileNotFoundError, IsADirectoryError):
            continue  # binary data, or deleted in the work tree
        allowed = _migration_lines(lines) if name == MIGRATION_DOC else set()
        found += [
            f"{name}:{n}: {line.strip()}"
            for n, line in enumerate(lines, 1)
            if DBFS.search(line) and n not in allowed
        ]
    return found


def test_no_tracked_file_uses_a_dbfs_path() -> None:
    assert dbfs_paths(REPO) == []


def test_the_migration_doc_explains_what_replaced_dbfs() -> None:
    lines = (REPO / MIGRATION_DOC).read_text(encoding="utf-8").splitlines()
    section = [lines[n - 1] for n in sorted(_migration_lines(lines))]
    assert section, f"{MIGRATION_DOC} has no 'Migrating from ...' section"
    text = "\n".join(section)
    assert DBFS.search(text) and "/Volumes/" in text and "databricks bundle deploy" in text


def test_a_dbfs_path_anywhere_else_is_found(tmp_path: Path) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "docs").mkdir()
    (tmp_path / "job.py").write_text('spark.read.load("DBFS:/FileStore/lakehouse/x")\n')
    (tmp_path / "ok.py").write_text('spark.read.load("/Volumes/main/lake/raw/x")\n')
    (tmp_path / MIGRATION_DOC).write_text(
        "# Deploy\n\nCopy conf to /dbfs/FileStore.\n\n"
        "## Migrating from the DBFS root\n\nWas dbfs:/FileStore/lakehouse/conf.\n\n"
        "### Wheels\n\nWas /dbfs/FileStore/wheels.\n\n## Next\n\nnot dbfs:/ here either\n"
    )
    git("add", ".")
    assert dbfs_paths(tmp_path) == [
        "docs/deploy.md:3: Copy conf to /dbfs/FileStore.",
        "docs/deploy.md:15: not dbfs:/ here either",
        'job.py:1: spark.read.load("DBFS:/FileStore/lakehouse/x")',
    ]
