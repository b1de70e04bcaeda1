"""``lakehouse init``: write a small project that runs green right away.

The templates ship inside the wheel (``lakehouse/scaffold/templates``). Text is rendered by
replacing ``{{pipeline}}``, ``{{account}}``, ``{{dist}}`` and ``{{docs}}``; Python files are
stored as ``*.py.tmpl`` so that tools working on the library never treat them as its code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from importlib.abc import Traversable
from importlib.metadata import PackageNotFoundError, metadata
from pathlib import Path

from lakehouse.errors import ConfigError

_RENAMES = {"gitignore": ".gitignore", "conf/pipelines/pipeline.yml": "conf/pipelines/{{pipeline}}.yml"}
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Project:
    """What ``init`` wrote."""

    folder: Path
    pipeline: str
    files: tuple[Path, ...]


def pipeline_name(folder: Path, name: str | None = None) -> str:
    """``name``, or the folder's name made into a lower-case identifier."""
    if name is not None:
        if not _NAME.match(name):
            raise ConfigError(
                "invalid pipeline name", key_path="--name", found=name, expected="[a-z][a-z0-9_]*"
            )
        return name
    text = re.sub(r"[^a-z0-9]+", "_", folder.resolve().name.lower()).strip("_")
    if not text or not text[0].isalpha():
        text = f"p_{text}" if text else "my_pipeline"
    return text


def docs_location(dist: str) -> str:
    """Where the comments' documentation links point: the package's docs URL if it has one."""
    try:
        urls = metadata(dist).get_all("Project-URL") or []
    except PackageNotFoundError:
        urls = []
    found = dict(u.split(", ", 1) for u in urls if ", " in u)
    for label in ("Documentation", "documentation", "Docs"):
        if label in found:
            return found[label].rstrip("/")
    for label in ("Source", "Repository", "Homepage", "source", "repository", "homepage"):
        if found.get(label, "").startswith("https://github.com/"):
            return found[label].rstrip("/") + "/blob/main/docs"
    return "docs"


def _templates() -> list[tuple[str, Traversable]]:
    root = resources.files("lakehouse.scaffold").joinpath("templates")
    found: list[tuple[str, Traversable]] = []
    stack: list[tuple[str, Traversable]] = [("", root)]
    while stack:
        prefix, folder = stack.pop()
        for item in folder.iterdir():
            relative = f"{prefix}{item.name}"
            if item.is_dir():
                stack.append((relative + "/", item))
            elif not item.name.endswith((".pyc", ".pyo")):
                found.append((relative, item))
    return sorted(found)


def _render(text: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    return text


def _target(relative: str, values: dict[str, str]) -> str:
    relative = _RENAMES.get(relative, relative)
    if relative == "tests/test_pipeline.py.tmpl":
        relative = "tests/test_{{pipeline}}.py"
    return _render(relative.removesuffix(".tmpl"), values)


def create_project(folder: Path, name: str | None = None, dist: str = "lakehouse") -> Project:
    """Write the project into ``folder`` (created if needed); never overwrites a file.

    Raises :class:`ConfigError` naming the files that already exist.
    """
    pipeline = pipeline_name(folder, name)
    values = {
        "pipeline": pipeline,
        "account": re.sub(r"[^a-z0-9]", "", pipeline)[:16] or "lakehouse",
        "dist": dist,
        "docs": docs_location(dist),
    }
    plan = [(folder / _target(rel, values), item) for rel, item in _templates()]
    existing = [str(path) for path, _ in plan if path.exists()]
    if existing:
        raise ConfigError(
            f"{len(existing)} file(s) would be overwritten, e.g. {existing[0]}",
            key_path="DIR",
            found=str(folder),
            expected="a new or empty folder (or one without these files)",
        )
    written = []
    for path, item in plan:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = item.read_bytes()
        if not path.name.endswith(".csv"):
            data = _render(data.decode("utf-8"), values).encode("utf-8")
        path.write_bytes(data)
        written.append(path)
    return Project(folder, pipeline, tuple(written))
