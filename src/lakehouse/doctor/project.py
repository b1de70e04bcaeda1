"""Checks of a pipeline's configuration: it loads, its storage is usable, its secrets are set."""

from __future__ import annotations

import dataclasses
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lakehouse.config.model import PipelineConfig
from lakehouse.constants import secret_env_var
from lakehouse.doctor.result import FAIL, INFO, OK, Check
from lakehouse.errors import LakehouseError
from lakehouse.secrets import SecretRef

_LOCAL_ROOT_HINT = "storage.root in conf/envs/<env>.yml (LAKEHOUSE_ROOT in the local overlay)"
_REMOTE = "remote storage, checked by the run's cluster"


def _local(path: str) -> Path | None:
    """A local filesystem path, or None for remote storage (abfss://, s3a://, dbfs:...)."""
    if path.startswith("file:"):
        return Path(path.removeprefix("file:").replace("///", "/", 1))
    return None if "://" in path or ":" in path.split("/", 1)[0] else Path(path)


def _writable(folder: Path) -> str | None:
    """Why a file cannot be created in ``folder`` (None when it can): a real write, not os.access."""
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".lakehouse-doctor-"):
            return None
    except OSError as exc:
        return exc.strerror or str(exc)


def _remote(name: str, location: str) -> Check:
    return Check(name, INFO, f"{location}: remote storage, checked by the run's cluster", required=False)


def root_check(config: PipelineConfig) -> Check:
    """The storage root can be created, read and written (every table and checkpoint lives there)."""
    root = config.storage.root
    path = _local(root)
    if path is None:
        return _remote("storage root", root)
    if path.exists() and not path.is_dir():
        return Check("storage root", FAIL, f"{path} is a file, not a folder", f"set {_LOCAL_ROOT_HINT}")
    existing = path
    while not existing.exists():
        existing = existing.parent
    problem = _writable(existing)
    if problem:
        where = "" if existing == path else f" (the nearest existing folder of {path}, to be created)"
        return Check(
            "storage root",
            FAIL,
            f"cannot write to {existing}{where}: {problem}",
            f"make it writable (chmod/chown), or set {_LOCAL_ROOT_HINT} to a writable folder",
        )
    if existing == path and not os.access(path, os.R_OK | os.X_OK):
        return Check("storage root", FAIL, f"cannot read {path}", "make it readable (chmod/chown)")
    state = "exists" if existing == path else "will be created"
    return Check("storage root", OK, f"{path} ({state}, readable and writable)")


def landing_check(config: PipelineConfig) -> Check:
    """The landing folder and each dataset's folder in it exist and can be listed."""
    landing = config.storage.landing
    path = _local(landing)
    if path is None:
        return _remote("landing", landing)
    fix = "land files there, or set storage.landing in conf/envs/<env>.yml (LAKEHOUSE_LANDING locally)"
    if not path.is_dir():
        return Check("landing", FAIL, f"{path} does not exist", fix)
    missing, unreadable = [], []
    for name, dataset in config.datasets.items():
        folder = _local(dataset.source.path)
        if folder is None:
            continue
        if not folder.exists():
            missing.append(f"{name} ({folder})")
        elif not os.access(folder, os.R_OK | os.X_OK):
            unreadable.append(f"{name} ({folder})")
    if missing or unreadable:
        problems = [f"no folder for {', '.join(missing)}"] if missing else []
        problems += [f"cannot read {', '.join(unreadable)}"] if unreadable else []
        return Check("landing", FAIL, f"{path}: {'; '.join(problems)}", fix)
    writable = "writable" if _writable(path) is None else "read-only (fine: runs only read it)"
    count = len(config.datasets)
    return Check("landing", OK, f"{path}: {count} dataset folder(s) readable; {writable}")


def _secret_refs(value: Any, where: str) -> Iterator[tuple[str, SecretRef]]:
    """Every secret reference in the parsed config, with the dataset or setting holding it."""
    if isinstance(value, SecretRef):
        yield where, value
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for item in dataclasses.fields(value):
            yield from _secret_refs(getattr(value, item.name), where)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _secret_refs(item, f"{key}" if where == "" else where)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _secret_refs(item, where)


def secret_checks(config: PipelineConfig) -> list[Check]:
    """One check per secret the configuration references (values are never shown)."""
    found: dict[str, tuple[list[str], SecretRef]] = {}
    for name, dataset in config.datasets.items():
        for _, ref in _secret_refs(dataset, name):
            found.setdefault(ref.describe(), ([], ref))[0].append(name)
    checks = []
    for described, (users, ref) in found.items():
        label = "secret"
        used = f"used by {', '.join(sorted(set(users)))}"
        try:
            ref.resolve()
        except LakehouseError as exc:
            checks.append(Check(label, FAIL, f"{exc} ({used})", _secret_fix(ref)))
            continue
        checks.append(Check(label, OK, f"{described} is set ({used}; value not shown)"))
    if not checks:
        checks.append(Check("secrets", OK, "the configuration references no secret", required=False))
    return checks


def _secret_fix(ref: SecretRef) -> str:
    if ref.env:
        return f"export {ref.env}=<value> in the shell or job environment (never in the YAML)"
    assert ref.scope is not None and ref.key is not None
    if "DATABRICKS_RUNTIME_VERSION" in os.environ:
        return f"databricks secrets put-secret {ref.scope} {ref.key}"
    return (
        f"export {secret_env_var(ref.scope, ref.key)}=<value> (off Databricks a scope secret is read from it)"
    )
