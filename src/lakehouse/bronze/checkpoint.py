"""The bronze checkpoint of one dataset: planned batches, commits and the file ledger.

Layout under ``<root>/_checkpoints/bronze/<dataset>/``::

    metadata.json          {"id": <uuid>}: makes the Delta txnAppId unique to this checkpoint
    plans/<batch>.json     a batch's files, written before any data of it is written
    commits/<batch>.json   the same files once the batch is in Delta (+ version, rows, bad files)
    ledger/<batch>.json    compacted ledger: every ingested file up to that batch
    bad_files.json         files that could not be read, with the reason (retried each run)

The state is the newest ledger snapshot plus the commits after it, so loading it costs one
snapshot and at most ``COMPACT_EVERY`` small files whatever the history. A plan without a
commit is a batch that was interrupted; it is replayed with the same id and files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lakehouse.io.state import StateDir

COMPACT_EVERY = 10
FileKey = tuple[int, int]  # (size, mtime ms)


@dataclass
class Batch:
    """A planned batch: files to load (path, size, mtime) and files found unreadable."""

    batch_id: int
    files: list[tuple[str, int, int]]
    bad: dict[str, str] = field(default_factory=dict)
    replay: bool = False

    def to_json(self) -> dict[str, Any]:
        """The batch as stored in plan and commit files."""
        return {"batch_id": self.batch_id, "files": self.files, "bad": self.bad}


@dataclass
class LedgerState:
    """What the checkpoint knows: ingested files, the next batch id, an interrupted batch."""

    ingested: dict[str, FileKey]
    next_batch: int
    pending: Batch | None
    snapshot: int


def _name(batch_id: int) -> str:
    return f"{batch_id:012d}.json"


class Checkpoint:
    """Read and write the checkpoint files of one dataset (see :class:`StateDir`)."""

    def __init__(self, location: str) -> None:
        self.state = StateDir(location)
        self.location = self.state.location

    def _ids(self, folder: str) -> list[int]:
        return self.state.ids(folder)

    def _read(self, folder: str, batch_id: int) -> dict[str, Any]:
        found: dict[str, Any] = self.state.read(f"{folder}/{_name(batch_id)}")
        return found

    def checkpoint_id(self) -> str:
        """The id of this checkpoint, created on first use."""
        return self.state.identity()

    def load(self) -> LedgerState:
        """Ingested files (snapshot + later commits), next batch id and any pending plan."""
        snapshots = self._ids("ledger")
        base = snapshots[-1] if snapshots else -1
        ingested: dict[str, FileKey] = {}
        if base >= 0:
            for path, size, mtime in self._read("ledger", base)["files"]:
                ingested[path] = (size, mtime)
        commits = [c for c in self._ids("commits") if c > base]
        for batch_id in commits:
            for path, size, mtime in self._read("commits", batch_id)["files"]:
                ingested[path] = (size, mtime)
        plans = self._ids("plans")
        last_commit = max([base, *commits])
        pending = None
        if plans and plans[-1] > last_commit:
            raw = self._read("plans", plans[-1])
            pending = Batch(
                raw["batch_id"],
                [tuple(f) for f in raw["files"]],
                dict(raw.get("bad", {})),
                replay=True,
            )
        next_batch = max([last_commit, *(plans[-1:] or [-1])]) + 1
        return LedgerState(ingested, next_batch, pending, base)

    def plan(self, batch: Batch) -> None:
        """Record the batch before its data is written (rewritten if bad files are dropped)."""
        self.state.write(f"plans/{_name(batch.batch_id)}", batch.to_json())

    def commit(self, batch: Batch, state: LedgerState, info: dict[str, Any]) -> None:
        """Mark a batch as written to Delta, then compact the ledger now and then."""
        body = {**batch.to_json(), **info}
        self.state.write(f"commits/{_name(batch.batch_id)}", body)
        for path, size, mtime in batch.files:
            state.ingested[path] = (size, mtime)
        if batch.batch_id - state.snapshot >= COMPACT_EVERY:
            self._compact(batch.batch_id, state)

    def _compact(self, batch_id: int, state: LedgerState) -> None:
        files = [[p, s, m] for p, (s, m) in sorted(state.ingested.items())]
        self.state.write(f"ledger/{_name(batch_id)}", {"files": files})
        # Older plans, commits and snapshots are covered by the new snapshot; removing them
        # keeps the next load (and directory listing) small.
        for folder in ("plans", "commits", "ledger"):
            for old in self._ids(folder):
                if old < batch_id or (folder != "ledger" and old == batch_id):
                    self.state.delete(f"{folder}/{_name(old)}")
        state.snapshot = batch_id

    def bad_files(self) -> dict[str, dict[str, Any]]:
        """The recorded unreadable files: path -> reason and run id."""
        found: dict[str, dict[str, Any]] = self.state.read("bad_files.json", {})
        return found

    def record_bad_files(self, bad: dict[str, dict[str, Any]]) -> None:
        """Replace the record of currently unreadable files (path -> reason, size, mtime)."""
        self.state.write("bad_files.json", bad)
