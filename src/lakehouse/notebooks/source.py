"""Parse Databricks source-format notebooks (``.py`` exported with ``# COMMAND`` cells)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from lakehouse.notebooks.errors import NotebookFormatError

HEADER = "# Databricks notebook source"
SEPARATOR = "# COMMAND ----------"
MAGIC = "# MAGIC"


class CellKind(Enum):
    """What the runner does with a cell."""

    CODE = "code"
    EMPTY = "empty"
    MARKDOWN = "markdown"
    RUN = "run"
    PIP = "pip"


@dataclass(frozen=True)
class Cell:
    """One cell; ``number`` is 1-based and counts every cell, markdown included."""

    number: int
    kind: CellKind
    source: str
    first_line: str
    argument: str = ""  # the target of %run


def resolve_notebook(path: str | Path, base_dir: Path | None = None) -> Path:
    """Resolve a notebook path relative to ``base_dir``; the ``.py`` suffix is optional."""
    candidate = Path(path)
    if base_dir is not None and not candidate.is_absolute():
        candidate = base_dir / candidate
    if candidate.is_file():
        return candidate
    with_suffix = candidate.with_name(candidate.name + ".py")
    if with_suffix.is_file():
        return with_suffix
    raise FileNotFoundError(f"notebook {path} not found (looked for {candidate}[.py])")


def parse_notebook(path: Path) -> list[Cell]:
    """Split a notebook into cells, rejecting files and magics the local runner cannot run."""
    text = path.read_text(encoding="utf-8-sig")
    lines = text.splitlines()
    if not lines or lines[0].strip() != HEADER:
        raise NotebookFormatError(
            f"{path} is not a Databricks source notebook: its first line must be {HEADER!r}",
            notebook=str(path),
        )
    chunks: list[list[str]] = [[]]
    for line in lines[1:]:
        if line.strip() == SEPARATOR:
            chunks.append([])
        else:
            chunks[-1].append(line)
    return [_cell(path, number, chunk) for number, chunk in enumerate(chunks, start=1)]


def _cell(path: Path, number: int, lines: list[str]) -> Cell:
    source = "\n".join(lines).strip("\n") + "\n"
    code_lines = [ln for ln in lines if ln.strip()]
    if not code_lines:
        return Cell(number, CellKind.EMPTY, source, "")
    if not all(ln.startswith(MAGIC) for ln in code_lines):
        return Cell(number, CellKind.CODE, source, code_lines[0].strip())
    magic_lines = [ln[len(MAGIC) :].strip() for ln in code_lines]
    first = next((ln for ln in magic_lines if ln), "")
    command, _, argument = first.partition(" ")
    if command in ("%md", "%md-sandbox"):
        return Cell(number, CellKind.MARKDOWN, source, first)
    if command == "%pip":
        return Cell(number, CellKind.PIP, source, first)
    if command == "%run":
        target = argument.strip()
        if not target or " " in target:
            raise NotebookFormatError(
                f"{path}: cell {number} ({first}): %run takes exactly one notebook path; "
                "passing $arguments is not supported locally",
                notebook=str(path),
                cell_number=number,
            )
        return Cell(number, CellKind.RUN, source, first, target)
    raise NotebookFormatError(
        f"{path}: cell {number} ({first}) uses magic {command or '(none)'}, which the local "
        "runner cannot execute (supported: %md, %run, %pip)",
        notebook=str(path),
        cell_number=number,
    )
