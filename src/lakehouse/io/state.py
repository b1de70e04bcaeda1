"""A layer's incremental state: small JSON files in a folder the driver opens as files.

The folder is a local path, or on Databricks a Unity Catalog Volume (``/Volumes/...``, a FUSE
mount on every compute kind, serverless and standard access included). Python writes the
files: no JVM gateway, no Spark job, so reading the state of a layer with nothing to do costs
microseconds. A write goes to a temporary file renamed over the target (``os.replace``), so a
reader sees the old or the new content, never half of it.
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from typing import Any

from lakehouse.errors import LakehouseError
from lakehouse.io.files import local_path


class StateDir:
    """JSON documents under one folder, addressed by relative names such as ``plans/0001.json``."""

    def __init__(self, location: str) -> None:
        local = local_path(location)
        if local is None:
            raise LakehouseError(
                f"state location {location} is not a folder the driver can open: keep "
                "checkpoints on a local path or a Unity Catalog Volume (/Volumes/<catalog>/"
                "<schema>/<volume>/...), set with storage.checkpoints"
            )
        self.location = location.rstrip("/")
        self.root = local.rstrip("/")

    def _path(self, name: str) -> str:
        return os.path.join(self.root, name)

    def exists(self, name: str) -> bool:
        """Whether the document exists."""
        return os.path.exists(self._path(name))

    def read(self, name: str, default: Any = None) -> Any:
        """The parsed document, or ``default`` when it does not exist."""
        try:
            with open(self._path(name), encoding="utf-8") as handle:
                return json.load(handle)
        except FileNotFoundError:
            return default

    def write(self, name: str, value: Any) -> None:
        """Write the document atomically (a temporary file renamed into place)."""
        target = self._path(name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        tmp = f"{target}.{uuid.uuid4().hex}.tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(value, handle, sort_keys=True)
        os.replace(tmp, target)

    def delete(self, name: str) -> None:
        """Remove the document (no error when it is gone)."""
        with contextlib.suppress(FileNotFoundError):
            os.remove(self._path(name))

    def ids(self, folder: str) -> list[int]:
        """The numbers ``n`` of the ``<n>.json`` documents in ``folder``, ascending."""
        try:
            names = os.listdir(self._path(folder))
        except FileNotFoundError:
            return []
        return sorted(int(n[:-5]) for n in names if n.endswith(".json") and n[:-5].isdigit())

    def renew_identity(self) -> str:
        """Replace the state's id with a new one (a new writer from now on)."""
        new_id = uuid.uuid4().hex
        self.write("metadata.json", {"id": new_id})
        return new_id

    def identity(self) -> str:
        """A random id made on first use and kept in ``metadata.json``: unique to this state."""
        found = self.read("metadata.json")
        if isinstance(found, dict) and "id" in found:
            return str(found["id"])
        new_id = uuid.uuid4().hex
        self.write("metadata.json", {"id": new_id})
        return new_id
