"""What silver and gold read each run: a range of their input table's Delta versions.

Bronze and silver are append-only tables the library creates with the change data feed on,
so the rows new since a layer's last run are exactly the ``insert`` changes of the versions
after the one it consumed last. The layer's state (JSON in its checkpoint folder, see
:class:`lakehouse.io.state.StateDir`) holds that version and, while a run is under way, the
planned range::

    {"consumed": 7, "plan": null, "last": {...counts of the last committed run...}}
    {"consumed": 7, "plan": {"start": 8, "end": 9, "before": {"<table>": 3}}, ...}

Exactly once: the range is planned (with the output tables' versions before writing) before
anything is written; outputs are appended with ``txnAppId`` = this state's id and
``txnVersion`` = the range's end, so a replayed range whose write already reached a table is
skipped by Delta; then the range is committed. A run finding a plan replays that same range
even if the input moved on meanwhile (a wider range would carry a new ``txnVersion`` and
write its rows twice). Deciding that there is nothing new compares two versions and starts
no Spark job.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lakehouse.errors import ContractError
from lakehouse.io import delta
from lakehouse.io.state import StateDir

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

STATE = "state.json"
# How ``lakehouse forget`` marks its DELETE commits (see lakehouse.forget): the table property
# ``lakehouse.erasure.v<version>``, and where the session allows it this userMetadata prefix.
ERASURE_MARKER = "lakehouse-forget"
ERASURE_PROPERTY = "lakehouse.erasure.v"
# How ``lakehouse backfill`` marks the commits that take a range's rows out of silver before
# silver reads that range again (the layer after silver passes them over, as erasures).
BACKFILL_MARKER = "lakehouse-backfill"
BACKFILL_PROPERTY = "lakehouse.backfill.v"
# Operations that only add rows: what an append-only input may contain.
APPEND_OPERATIONS = frozenset(
    {"WRITE", "CREATE TABLE AS SELECT", "REPLACE TABLE AS SELECT", "CREATE OR REPLACE TABLE AS SELECT",
     "STREAMING UPDATE"}
)  # fmt: skip
# Operations that change no row (table properties, compaction, statistics, vacuum...).
NO_DATA_OPERATIONS = frozenset(
    {"SET TBLPROPERTIES", "UNSET TBLPROPERTIES", "OPTIMIZE", "CREATE TABLE", "ADD COLUMNS",
     "CHANGE COLUMN", "VACUUM START", "VACUUM END", "UPGRADE PROTOCOL", "ANALYZE STATS", "COMPUTE STATS",
     "SET TBLPROPERTIES (BACKFILL)", "REORG"}
)  # fmt: skip


@dataclass
class Increment:
    """A planned range of input versions (both ends included) and what the run knows of it."""

    start: int
    end: int
    replay: bool = False
    before: dict[str, int | None] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The plan as stored."""
        return {"start": self.start, "end": self.end, "before": self.before}


class RangeState:
    """The consumed version and the planned range of one layer of one dataset."""

    def __init__(self, location: str) -> None:
        self.dir = StateDir(location)

    def app_id(self, layer: str) -> str:
        """The ``txnAppId`` of this state's writes: a new state folder is a new writer."""
        return f"lakehouse-{layer}-{self.dir.identity()}"

    def _load(self) -> dict[str, Any]:
        found = self.dir.read(STATE, {})
        return found if isinstance(found, dict) else {}

    def consumed(self) -> int | None:
        """The last input version a committed run read (None before the first)."""
        value = self._load().get("consumed")
        return None if value is None else int(value)

    def next(self, spark: SparkSession, upstream: str) -> Increment | None:
        """The range to read now: a pending plan, else the versions after the consumed one.

        None when the input has no version the layer has not read (or no table yet).
        """
        found = self._load()
        plan = found.get("plan")
        if plan:
            return Increment(int(plan["start"]), int(plan["end"]), True, dict(plan.get("before") or {}))
        latest = delta.table_version(spark, upstream)
        consumed = found.get("consumed")
        start = 0 if consumed is None else int(consumed) + 1
        if latest is None or latest < start:
            return None
        return Increment(start, latest)

    def plan(self, increment: Increment) -> None:
        """Record the range before any of its output is written."""
        found = self._load()
        found["plan"] = increment.to_json()
        self.dir.write(STATE, found)

    def commit(self, increment: Increment, info: dict[str, Any]) -> None:
        """Mark the range as read and written: the next run starts after it."""
        self.dir.write(STATE, {"consumed": increment.end, "plan": None, "last": info})

    def planned(self) -> Increment | None:
        """The range a run planned and did not commit (it failed or was killed), if any."""
        plan = self._load().get("plan")
        return Increment(int(plan["start"]), int(plan["end"]), True) if plan else None

    def rewind(self, start: int, end: int) -> None:
        """Read versions ``start``..``end`` (already consumed) again, as a new writer.

        The state gets a new id first, so the range's writes carry a new ``txnAppId`` (Delta
        would skip them as already applied under the old one); then the consumed version
        goes back to ``start - 1`` with the backfill noted, for the layer to take the range's
        earlier output out (:meth:`backfill`) before it reads the range.
        """
        found = self._load()
        self.dir.renew_identity()
        found.update(consumed=start - 1 if start > 0 else None, plan=None)
        found["backfill"] = {"start": start, "end": end, "removed": False}
        self.dir.write(STATE, found)

    def backfill(self) -> dict[str, Any] | None:
        """The backfill whose earlier output is still to be taken out, if any."""
        found = self._load().get("backfill")
        return found if isinstance(found, dict) and not found.get("removed") else None

    def backfill_removed(self, counts: dict[str, int]) -> None:
        """Note that the backfill's earlier output is out: a retry must not remove again."""
        found = self._load()
        found["backfill"] = {**(found.get("backfill") or {}), "removed": True, "counts": counts}
        self.dir.write(STATE, found)


def input_commits(spark: SparkSession, upstream: str, increment: Increment) -> list[delta.Commit]:
    """The input's commits in the range; raises if one of them changed rows in place."""
    commits = [
        c for c in delta.history(spark, upstream, since=increment.start - 1) if c.version <= increment.end
    ]
    erasures: set[int] | None = None
    for commit in commits:
        op = commit.operation or ""
        if op in ("DELETE", "MERGE"):
            if erasures is None:
                erasures = erasure_versions(spark, upstream)
            if commit.version in erasures or (commit.user_metadata or "").startswith(
                (ERASURE_MARKER, BACKFILL_MARKER)
            ):
                # lakehouse forget: the rows are erased from the later layers too; lakehouse
                # backfill: the rows are written again by the range it reads anew
                continue
        if op not in APPEND_OPERATIONS and op not in NO_DATA_OPERATIONS:
            raise ContractError(
                f"{upstream} version {commit.version} is a {op}: the layers after bronze read their "
                "input as append-only (rows changed or deleted in place are not passed on)"
            )
    return commits


def erasure_versions(spark: SparkSession, table: str) -> set[int]:
    """The versions ``lakehouse forget`` and ``lakehouse backfill`` marked (table properties)."""
    found = set()
    for key, _ in delta.properties(spark, table).items():
        for prefix in (ERASURE_PROPERTY, BACKFILL_PROPERTY):
            suffix = key[len(prefix) :] if key.startswith(prefix) else ""
            if suffix.isdigit():
                found.add(int(suffix))
    return found


def rows_in(commits: list[delta.Commit]) -> int:
    """Rows the append commits added (``numOutputRows``)."""
    return sum(c.rows_appended for c in commits if (c.operation or "") in APPEND_OPERATIONS)


def read_range(spark: SparkSession, upstream: str, increment: Increment) -> tuple[DataFrame, int]:
    """The rows the range appended, and their number from the commits' ``numOutputRows``.

    The count is taken from the Delta log (an independent number, no Spark job). A range
    starting at version 0 is the whole table as of its end (no change feed needed), less the
    rows ``lakehouse forget`` erased in the range.
    """
    commits = input_commits(spark, upstream, increment)
    rows = rows_in(commits)
    if increment.start == 0:
        # A snapshot: the rows erased in the range (lakehouse forget) are not in it.
        erased = sum(int(c.metrics.get("numDeletedRows", 0)) for c in commits if c.operation == "DELETE")
        return delta.read_table(spark, upstream, increment.end), rows - erased
    return delta.read_inserts(spark, upstream, increment.start, increment.end), rows


def range_metadata(
    spark: SparkSession, upstream: str, increment: Increment, key: str
) -> list[dict[str, Any]]:
    """The ``key`` objects of the range's commits' ``userMetadata`` (commits without one left out)."""
    found = [delta.parse_metadata(c, key) for c in input_commits(spark, upstream, increment)]
    return [f for f in found if f is not None]


def ensure_change_feed(spark: SparkSession, upstream: str) -> None:
    """Turn on the input's change data feed if a table made elsewhere lacks it.

    Called on a layer's first run, which reads the whole table; later ranges start after
    that run's end, where the feed is recorded.
    """
    if not delta.change_feed_enabled(spark, upstream):
        delta.enable_change_feed(spark, upstream)


def commits_since(spark: SparkSession, table: str, before: int | None) -> list[delta.Commit]:
    """The commits a run made to ``table`` after version ``before`` (None: since its creation)."""
    return delta.history(spark, table, since=-1 if before is None else before)
