"""Where a pipeline's tables live, and the check that no two of them share a place.

:class:`StorageConfig` turns the storage root into table and checkpoint locations. Two
datasets sharing a table or a checkpoint would corrupt each other without an error (one
dataset's incremental state skipping the other's rows, two contracts appending to one table),
so :func:`check_distinct` requires every location a pipeline writes (each dataset's bronze,
silver, quarantine and gold tables and checkpoints, the derived tables, the side tables) to
be distinct, none inside another and none inside or around a landing folder bronze reads.
Locations are compared without regard to case: object stores and Unity Catalog differ in
case sensitivity, and two locations differing only in case are a mistake either way.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from lakehouse.config.node import Node
from lakehouse.constants import (
    BRONZE,
    CHECKPOINTS,
    ERASURES_TABLE,
    EXPECTATIONS_TABLE,
    GOLD,
    LAYERS,
    LOCKS_TABLE,
    QUARANTINE_SUFFIX,
    RUNS_TABLE,
    SILVER,
)


def join_path(root: str, relative: str) -> str:
    """Join a storage root and a relative path; absolute paths and URIs are kept as given."""
    if "://" in relative or relative.startswith("/") or relative.startswith("file:"):
        return relative
    while relative.startswith("./"):
        relative = relative[2:]
    if relative in ("", "."):
        return root
    return root.rstrip("/") + "/" + relative


def absolute(path: str) -> str:
    """A local path made absolute (against the working directory); URIs as given."""
    if "://" in path or path.startswith("file:"):
        return path
    return os.path.abspath(path)


OPS = "ops"
# The schemas of storage.tables: one per layer, plus ``ops`` for the ledger, lock and metrics.
TABLE_SCHEMAS = (BRONZE, SILVER, GOLD, OPS)


@dataclass(frozen=True)
class StorageConfig:
    """Where tables live and where the layers keep their state.

    Tables are paths under ``root`` (``<root>/bronze/<dataset>`` and so on, see the README), or
    Unity Catalog names ``<catalog>.<schema>.<table>`` when ``catalog`` is set
    (``storage.tables``), one schema per layer plus ``ops`` (run ledger, run lock, expectation
    metrics). State lives under ``checkpoints`` (default ``<root>/_checkpoints``).
    ``external_paths``: absolute locations outside the root where ``paths.*`` may still
    point (empty: every table lives under the root).
    """

    root: str
    landing: str
    checkpoints: str = ""
    external_paths: tuple[str, ...] = ()
    catalog: str | None = None
    schemas: dict[str, str] = field(default_factory=dict)

    def name(self, schema: str, table: str) -> str:
        """``<catalog>.<schema of the layer>.<table>`` (only with a catalog)."""
        return f"{self.catalog}.{self.schemas.get(schema, schema)}.{table}"

    def table(self, layer: str, name: str) -> str:
        if self.catalog:
            return self.name(layer, name)
        return join_path(self.root, f"{layer}/{name}")

    def checkpoint(self, layer: str, name: str) -> str:
        """A layer's state folder for one dataset, under ``checkpoints``."""
        base = self.checkpoints or join_path(self.root, CHECKPOINTS)
        return join_path(base, f"{layer}/{name}")

    def _side(self, table: str, path: str) -> str:
        return self.name(OPS, table) if self.catalog else join_path(self.root, path)

    @property
    def runs(self) -> str:
        """The run ledger."""
        return self._side("lakehouse_runs", RUNS_TABLE)

    @property
    def locks(self) -> str:
        """The run lock table (one lease per pipeline), beside the ledger."""
        return self._side("lakehouse_locks", LOCKS_TABLE)

    @property
    def metrics(self) -> str:
        """The expectation metrics table."""
        return self._side("lakehouse_expectations", f"{GOLD}/{EXPECTATIONS_TABLE}")

    @property
    def erasures(self) -> str:
        """The erasure audit table of ``lakehouse forget``, beside the ledger."""
        return self._side("lakehouse_erasures", ERASURES_TABLE)


def driver_can_open(path: str) -> bool:
    """True for a local path (a Volume, ``/Volumes/...``, is one) or a ``file:`` URI.

    State files are written by the driver's Python, which cannot open object store URIs.
    """
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", path) is None:
        return True
    return path.startswith("file:")


@dataclass(frozen=True)
class Location:
    """One place the pipeline writes (or, ``reads``, a landing folder) and the key that set it."""

    what: str
    path: str
    node: Node
    reads: bool = False

    @property
    def norm(self) -> str:
        return self.path.rstrip("/").lower()


def _contains(outer: str, inner: str) -> bool:
    return inner == outer or inner.startswith(outer + "/")


def check_distinct(locations: list[Location]) -> None:
    """Raise a ConfigError at the later key when two locations coincide or one holds the other."""
    for i, later in enumerate(locations):
        for earlier in locations[:i]:
            if earlier.reads and later.reads:
                continue  # two datasets may read overlapping landing folders
            if not (_contains(earlier.norm, later.norm) or _contains(later.norm, earlier.norm)):
                continue
            relation = "is the same location as" if earlier.norm == later.norm else "overlaps"
            raise later.node.error(
                f"{later.what} ({later.path}) {relation} {earlier.what} ({earlier.path}, set by "
                f"{earlier.node.key_path or 'the defaults'}); datasets cannot share a table, a "
                "checkpoint or a folder",
                found=later.path,
                expected="a location of its own",
            )


def side_tables(storage: StorageConfig, top: Node) -> list[Location]:
    """The tables every pipeline writes besides its datasets' (ledger, lock, metrics)."""
    return [
        Location("the run ledger", storage.runs, top),
        Location("the run lock table", storage.locks, top),
        Location("the erasure audit table", storage.erasures, top),
        Location("the expectation metrics table", storage.metrics, top),
    ]


def checkpoints(storage: StorageConfig, dataset: str, node: Node) -> list[Location]:
    """A dataset's checkpoint folders, one per layer."""
    return [
        Location(f"dataset {dataset!r}'s {layer} checkpoint", storage.checkpoint(layer, dataset), node)
        for layer in LAYERS
    ]


def gold_tables(what: str, path: str, node: Node) -> list[Location]:
    """A gold table and its quarantine."""
    return [Location(what, path, node), Location(f"{what}'s quarantine", f"{path}{QUARANTINE_SUFFIX}", node)]
