"""Read YAML files into one merged tree: includes, environment overlays, ``${VAR}`` values.

Order of assembly: the pipeline file is read; any dataset whose ``contract`` is a string is
replaced by the contract file it names (relative to the file that names it); then the
environment overlay ``<conf>/envs/<env>.yml`` is deep-merged on top. An overlay serves every
pipeline of its ``conf`` folder: its ``datasets.<name>`` entries apply to the pipelines that
define ``<name>`` and are left out for the others. ``${NAME}`` and
``${NAME:-default}`` in string values are replaced from the environment as each file is read.
The origin of every key path is recorded so errors can name the right file.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml

from lakehouse.config.bounded_yaml import load_bounded
from lakehouse.config.node import Origins
from lakehouse.errors import ConfigError

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def _interpolate(value: Any, file: str, path: tuple[str, ...], env: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: _interpolate(v, file, (*path, str(k)), env) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, file, (*path, str(i)), env) for i, v in enumerate(value)]
    if not isinstance(value, str) or "${" not in value:
        return value

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in env and env[name] != "":
            return env[name]
        if default is not None:
            return default
        raise ConfigError(
            f"environment variable {name} is not set and has no default "
            f"(write ${{{name}:-default}} to give one)",
            file=file,
            key_path=".".join(path) or None,
        )

    return _VAR.sub(substitute, value)


def read_yaml(path: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Read one YAML mapping with ``${VAR}`` interpolation; errors name the file.

    The document is parsed with bounded work (:mod:`lakehouse.config.bounded_yaml`): an alias
    bomb or absurd nesting is refused before anything walks the values.
    """
    file = str(path)
    if not path.is_file():
        raise ConfigError("file not found", file=file)
    try:
        data = load_bounded(path.read_text(encoding="utf-8"), file)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"invalid YAML{where}: {problem}", file=file) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError("is not UTF-8 text", file=file) from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            "must hold a mapping at the top level", file=file, found=type(data).__name__, expected="a mapping"
        )
    return _interpolate(data, file, (), dict(os.environ) if env is None else env)


def _record(origins: Origins, value: Any, path: tuple[str, ...], file: str) -> None:
    origins.by_path[path] = file
    if isinstance(value, dict):
        for key, child in value.items():
            _record(origins, child, (*path, str(key)), file)


def deep_merge(
    base: dict[str, Any], overlay: dict[str, Any], origins: Origins, file: str, path: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Merge ``overlay`` into ``base``: mappings merge key by key, anything else replaces."""
    merged = dict(base)
    for key, value in overlay.items():
        sub = (*path, str(key))
        # A secret reference is one value: an overlay replaces it whole instead of mixing an
        # env reference with a scope reference.
        if isinstance(value, dict) and isinstance(merged.get(key), dict) and "secret" not in value:
            merged[key] = deep_merge(merged[key], value, origins, file, sub)
        else:
            merged[key] = value
            _record(origins, value, sub, file)
    return merged


def resolve_includes(tree: dict[str, Any], origins: Origins, env: dict[str, str] | None) -> None:
    """Replace ``datasets.<name>.contract: <file>`` strings by the file's content."""
    datasets = tree.get("datasets")
    if not isinstance(datasets, dict):
        return
    for name, spec in datasets.items():
        if not isinstance(spec, dict) or not isinstance(spec.get("contract"), str):
            continue
        path = ("datasets", str(name), "contract")
        declared_in = Path(origins.file_for(path))
        target = (declared_in.parent / spec["contract"]).resolve()
        if not target.is_file():
            raise ConfigError(
                "contract file not found",
                file=str(declared_in),
                key_path=".".join(path),
                found=spec["contract"],
                expected=f"a YAML file (looked for {target})",
            )
        content = read_yaml(target, env)
        shown = os.path.relpath(target) if not os.path.isabs(spec["contract"]) else str(target)
        spec["contract"] = content
        _record(origins, content, path, shown)


def _for_pipeline(overlay: Any, tree: dict[str, Any]) -> Any:
    """The overlay without ``datasets`` entries for datasets the pipeline does not define."""
    ours, theirs = tree.get("datasets"), overlay.get("datasets") if isinstance(overlay, dict) else None
    if not isinstance(ours, dict) or not isinstance(theirs, dict):
        return overlay
    return {**overlay, "datasets": {k: v for k, v in theirs.items() if k in ours}}


def for_drafting(tree: dict[str, Any], dataset: str) -> dict[str, Any]:
    """The tree with ``dataset`` alone, as a contract is drafted for it: without its contract
    and gold sections, its source read as landed (``schema: infer``), no derived tables. Its
    contract file need not exist yet. A tree without ``dataset`` is returned unchanged (the
    usual error names the datasets there are)."""
    datasets = tree.get("datasets")
    if not isinstance(datasets, dict) or not isinstance(datasets.get(dataset), dict):
        return tree
    spec = {k: v for k, v in datasets[dataset].items() if k not in ("contract", "gold")}
    if isinstance(spec.get("source"), dict):
        spec["source"] = {**spec["source"], "schema": "infer"}
    rest = {k: v for k, v in tree.items() if k != "derived"}
    return {**rest, "datasets": {dataset: spec}}


def assemble(
    pipeline_file: Path,
    env_name: str | None,
    env: dict[str, str] | None = None,
    envs_dir: Path | None = None,
    drafting: str | None = None,
) -> tuple[dict[str, Any], Origins]:
    """Read a pipeline file, its contract includes and the environment overlay into one tree
    (``drafting``: that dataset alone, see :func:`for_drafting`)."""
    shown = str(pipeline_file)
    origins = Origins(default=shown)
    tree = read_yaml(pipeline_file, env)
    if drafting is not None:
        tree = for_drafting(tree, drafting)
    _record(origins, tree, (), shown)
    resolve_includes(tree, origins, env)
    if env_name:
        folder = envs_dir or pipeline_file.resolve().parent.parent / "envs"
        overlay_file = folder / f"{env_name}.yml"
        if not overlay_file.is_file():
            available = sorted(p.stem for p in folder.glob("*.yml")) if folder.is_dir() else []
            raise ConfigError(
                f"environment overlay {overlay_file} not found",
                key_path="env",
                found=env_name,
                expected="one of " + (", ".join(available) or f"the files in {folder}"),
            )
        overlay = _for_pipeline(read_yaml(overlay_file, env), tree)
        overlay_shown = os.path.relpath(overlay_file)
        tree = deep_merge(tree, overlay, origins, overlay_shown)
        if drafting is not None:
            tree = for_drafting(tree, drafting)
        resolve_includes(tree, origins, env)
    return tree, origins
