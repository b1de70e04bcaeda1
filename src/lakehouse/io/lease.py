"""One run at a time per pipeline and storage root: a lease in a Delta table beside the ledger.

``<root>/_lakehouse_locks`` holds rows per pipeline and lease *epoch* (1, 2, ...): who holds
it (run id, host, process id), when it started, until when it is valid and, once given back,
when it was released. The holder renews the expiry every quarter of the lease duration from a
background thread; a run that crashed stops renewing, so its lease runs out and the next run
takes over without anyone cleaning up. A lease held by a process of the same host that no
longer exists (killed) is taken over at once, without waiting for the expiry.

Renewing and releasing append a row for the epoch (a later expiry, or the release time)
rather than updating the claim in place: a blind append is one small Delta commit, an UPDATE
is a scan and a rewrite (about a second more per run on a laptop). The state of an epoch is
its rows folded together: the latest expiry, the release time if any. Every
``FORGET_EVERY``-th epoch the taker deletes the pipeline's rows of earlier epochs, so the
table stays small without a DELETE on each run.

Every row also travels in its commit's ``userMetadata`` (``{"lakehouse_lock": {...}}``), so
that where the driver can open the table's files (a local path, a Volume) the lease is read
from the ``_delta_log`` commit files, newest first, without a Spark job; anything there the
reader does not recognise (a commit file cleaned up, a write by an older release) sends it to
Spark's read of the table instead.

Taking the lease appends the next epoch's claim; the taker then reads the lease back and holds
it only if the epoch's holder is itself. Who holds an epoch is decided in one of two ways:

- Where the commit files can be read, the holder is the epoch's *first* claim in commit
  order. Each claim records in its ``userMetadata`` the newest table version its taker had
  read (``after``): a claim of the same epoch at or below that version would have been seen,
  and the taker would have claimed the next epoch instead. So a reader walking back from the
  newest commit has found every claim of the highest epoch once it passed the lowest
  ``after`` among them, and every reader (both racers included) names the same holder. The
  claim is a blind append: no Delta transaction state to rebuild, which makes it the cheap
  first write of a process (a no-op run's main cost before).
- Elsewhere (a table name, remote storage), the claim carries ``txnAppId`` =
  ``lakehouse-lock:<pipeline>`` and ``txnVersion`` = the epoch. Delta commits a given version
  of an app id at most once: a writer racing for the same epoch fails with a
  concurrent-transaction conflict, a later one is skipped as already applied, so the epoch
  has one claim and Spark's read of the table finds it.

Both need nothing but Delta's optimistic concurrency, so they work on any storage Delta
supports (local disk, ADLS, S3), without a lock service.

Expiry compares wall clocks: the holder's when it renewed and the taker's when it looks. Hosts
must agree to well within the lease duration (NTP does).
"""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from lakehouse.errors import PipelineBusyError
from lakehouse.io import delta
from lakehouse.io.rows import local_frame
from lakehouse.log import get_logger

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

LOCK_SCHEMA = (
    "pipeline string, epoch long, run_id string, host string, pid int, "
    "started_ms long, expires_ms long, released_ms long"
)
# Delta's optimistic-concurrency failures (class names and error classes, Spark 3.5 and 4.x).
_CONFLICTS = (
    "Concurrent",
    "CONCURRENT",
    "ProtocolChanged",
    "PROTOCOL_CHANGED",
    "MetadataChanged",
    "METADATA_CHANGED",
)
# Reading a table that is not there yet (Spark 3.5 and 4.x; a path or a table name).
_ABSENT = (
    "DELTA_MISSING_DELTA_TABLE",
    "DELTA_TABLE_NOT_FOUND",
    "PATH_NOT_FOUND",
    "TABLE_OR_VIEW_NOT_FOUND",  # a table name (storage.tables): no such table yet
    "is not a Delta table",
)
POLL_SECONDS = 5.0
# The taker of every FORGET_EVERY-th epoch deletes the rows of earlier epochs.
FORGET_EVERY = 10
_META = "lakehouse_lock"
# Reading the lease from the commit files gives up (and asks Spark) past this many commits.
_LOG_SCAN_LIMIT = 1000


def now_ms() -> int:
    """Wall-clock time in epoch milliseconds."""
    return int(time.time() * 1000)


def iso(ms: int) -> str:
    """Epoch milliseconds as an ISO-8601 UTC timestamp (seconds)."""
    return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def is_conflict(exc: BaseException) -> bool:
    """Whether ``exc`` is Delta telling a writer that a concurrent commit won."""
    text = f"{type(exc).__name__}: {exc}"
    return any(marker in text for marker in _CONFLICTS)


@dataclass(frozen=True)
class LeaseRow:
    """A pipeline's lease of one epoch, as stored."""

    pipeline: str
    epoch: int
    run_id: str
    host: str
    pid: int
    started_ms: int
    expires_ms: int
    released_ms: int | None = None

    def live(self, at_ms: int) -> bool:
        """Held at ``at_ms``: not released and not expired."""
        return self.released_ms is None and self.expires_ms > at_ms

    def dead_here(self) -> bool:
        """Held by a process of this host that no longer exists (killed): no need to wait."""
        if self.host != socket.gethostname() or self.pid == os.getpid():
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        except OSError:  # exists, owned by someone else
            return False
        return False

    def describe(self) -> str:
        """``run R, started T, host H`` for messages."""
        return f"run {self.run_id}, started {iso(self.started_ms)}, host {self.host}"


def current(spark: SparkSession, path: str, pipeline: str) -> LeaseRow | None:
    """The pipeline's lease of the highest epoch, or None when it never took one.

    An epoch's rows (the claim, renewals, the release) share its holder; its expiry is the
    latest one written and it is released once a release row exists.
    """
    return _read(spark, path, pipeline)[0]


def _read(spark: SparkSession, path: str, pipeline: str) -> tuple[LeaseRow | None, int | None]:
    """The lease, and the newest table version read when it came from the commit files
    (-1: no table yet); None when Spark read the table."""
    known, found, newest = _scan_log(path, pipeline)
    return (found, newest) if known else (_from_table(spark, path, pipeline), None)


def _fold(rows: list[LeaseRow]) -> LeaseRow:
    """An epoch's rows as one lease: the claim's holder, the latest expiry, any release."""
    released = [r.released_ms for r in rows if r.released_ms is not None]
    return dataclasses.replace(
        rows[0], expires_ms=max(r.expires_ms for r in rows), released_ms=max(released) if released else None
    )


def _meta(kind: str, row: LeaseRow, after: int | None = None) -> str:
    """The ``userMetadata`` of a lease commit: what kind of row it added, and the row (a claim
    made from the commit files: with the newest version its taker had read)."""
    note: dict[str, Any] = {"kind": kind, **dataclasses.asdict(row)}
    if after is not None:
        note["after"] = after
    return json.dumps({_META: note}, sort_keys=True)


def _parse_meta(text: str | None) -> tuple[str, LeaseRow, int | None] | None:
    try:
        note: Any = json.loads(text or "")[_META]
        kind = note.pop("kind")
        after = note.pop("after", None)
        return str(kind), LeaseRow(**note), None if after is None else int(after)
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


def _from_log(path: str, pipeline: str) -> tuple[bool, LeaseRow | None]:
    """(True, the lease) read from the commit files newest first; (False, None) when they
    cannot tell."""
    known, found, _ = _scan_log(path, pipeline)
    return known, found


def _scan_log(path: str, pipeline: str) -> tuple[bool, LeaseRow | None, int | None]:
    """What :func:`_from_log` answers, and the newest version read (-1: no table yet).

    The highest epoch's claims are all newer than the lowest ``after`` among them (see the
    module's docstring), so the walk stops there; its holder is the oldest of them. The
    pipeline's rows met on the way are that epoch's renewals and release (the holder's are
    kept; a stale holder's, of an earlier epoch, are left out). A claim without ``after``
    (a transactional claim, or one by an older release) is its epoch's only claim.
    """
    unknown: tuple[bool, LeaseRow | None, int | None] = (False, None, None)
    commits = delta.commits_from_log(path)
    if commits is None:
        return unknown
    newest = -1
    rows: list[LeaseRow] = []
    claims: list[LeaseRow] = []
    floor = -1  # no claim of the highest epoch at or below this version
    for seen, commit in enumerate(commits):
        if commit is None or seen >= _LOG_SCAN_LIMIT:
            return unknown
        newest = max(newest, commit.version)
        if claims and commit.version <= floor:
            break
        note = _parse_meta(commit.user_metadata)
        if note is None:
            if commit.operation == "DELETE":  # a taker pruning earlier epochs
                continue
            return unknown
        kind, row, after = note
        if row.pipeline != pipeline:
            continue
        if kind != "claim":
            rows.append(row)
        elif not claims or row.epoch == claims[0].epoch:
            claims.append(row)
            bound = commit.version - 1 if after is None else after
            floor = bound if len(claims) == 1 else min(floor, bound)
    else:
        if not claims and rows:  # renewals whose claim is gone (pruned by an older release)
            return unknown
    if not claims:
        return True, None, newest
    holder = claims[-1]
    mine = [r for r in rows if r.epoch == holder.epoch and r.run_id == holder.run_id]
    return True, _fold([holder, *mine]), newest


def _from_table(spark: SparkSession, path: str, pipeline: str) -> LeaseRow | None:
    """The lease read with Spark (a table by name, remote storage, a log it cannot follow)."""
    from pyspark.sql import functions as F  # noqa: N812

    # Not delta.table_exists: it answers from a cached log, stale after a lost race. The read
    # and the collect share the guard: a Spark Connect session reports a missing table only
    # when the plan is analysed, at collect.
    try:
        table = delta.read_table(spark, path)
        mine = table.where(F.col("pipeline") == F.lit(pipeline))
        epochs = mine.groupBy("pipeline", "epoch").agg(
            *(F.max(c).alias(c) for c in ("run_id", "host", "pid", "started_ms", "expires_ms", "released_ms"))
        )
        rows = epochs.orderBy(F.col("epoch").desc()).limit(1).collect()
    except Exception as exc:
        if any(marker in str(exc) for marker in _ABSENT):
            return None
        raise
    return LeaseRow(**rows[0].asDict()) if rows else None


def _claim(spark: SparkSession, path: str, row: LeaseRow, after: int | None = None) -> None:
    """Append ``row`` as the epoch's claim.

    ``after``: the newest version its taker read from the commit files (a blind append; the
    first claim of the epoch holds it). None: a transactional claim (a lost race is a
    conflict or a skipped write).
    """
    frame = local_frame(spark, [dataclasses.astuple(row)], LOCK_SCHEMA)
    try:
        txn = None if after is not None else (f"lakehouse-lock:{row.pipeline}", row.epoch)
        delta.append(
            spark,
            frame,
            path,
            txn=txn,
            user_metadata=_meta("claim", row, after),
            properties=delta.LOG_TABLE_PROPERTIES,
        )
    except Exception as exc:
        if not is_conflict(exc):
            raise


def _text(value: str) -> str:
    """A SQL string literal (backslash escapes, as Spark SQL reads them)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _note(
    spark: SparkSession,
    path: str,
    row: LeaseRow,
    *,
    expires_ms: int | None = None,
    released_ms: int | None = None,
) -> None:
    """Append a row for the lease's epoch: a later expiry (renewal) or its release time.

    A blind append: it does not conflict with other pipelines' claims, renewals or releases.
    """
    noted = dataclasses.replace(
        row,
        expires_ms=row.expires_ms if expires_ms is None else int(expires_ms),
        released_ms=released_ms,
    )
    kind = "renew" if released_ms is None else "release"
    frame = local_frame(spark, [dataclasses.astuple(noted)], LOCK_SCHEMA)
    delta.append(spark, frame, path, user_metadata=_meta(kind, noted), properties=delta.LOG_TABLE_PROPERTIES)


def _forget_old(spark: SparkSession, path: str, row: LeaseRow) -> None:
    """Delete the pipeline's rows of earlier epochs (best effort: the table stays small)."""
    try:
        where = f"pipeline = {_text(row.pipeline)} AND epoch < {int(row.epoch)}"
        spark.sql(f"DELETE FROM {delta.ident(path)} WHERE {where}")
    except Exception as exc:
        if not is_conflict(exc):
            raise


class RunLease:
    """A held lease: renewed in the background until :meth:`release`.

    ``handed_over`` is True when the previous epoch's holder gave the lease back: the run
    before this one ended (it was not killed), so it left no layer ``running`` in the ledger.
    """

    def __init__(
        self, spark: SparkSession, path: str, row: LeaseRow, duration_s: float, *, handed_over: bool = False
    ) -> None:
        self.spark = spark
        self.path = path
        self.row = row
        self.handed_over = handed_over
        self.duration_ms = int(duration_s * 1000)
        self.lost: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._renew_loop, name="lakehouse-lease", daemon=True)
        self._thread.start()

    def _renew_loop(self) -> None:
        log = get_logger("lakehouse.lease")
        while not self._stop.wait(self.duration_ms / 4000):
            try:
                self.renew()
            except Exception as exc:  # keep renewing; a lost lease is reported at release
                log.warning("run lock renewal failed", error=str(exc).splitlines()[0] if str(exc) else "")

    def renew(self) -> None:
        """Push the expiry a full duration ahead; notes when another run took the lease."""
        latest = current(self.spark, self.path, self.row.pipeline)
        if latest is None or latest.epoch != self.row.epoch or latest.run_id != self.row.run_id:
            taker = latest.describe() if latest is not None else "nobody"
            self.lost = f"the run lock of pipeline {self.row.pipeline!r} was taken over ({taker})"
            return
        _note(self.spark, self.path, self.row, expires_ms=now_ms() + self.duration_ms)

    def release(self) -> str | None:
        """Stop renewing and give the lease back; returns why it was lost, if it was."""
        self._stop.set()
        self._thread.join()
        if self.lost is None:
            latest = current(self.spark, self.path, self.row.pipeline)
            if latest is not None and latest.epoch == self.row.epoch and latest.run_id == self.row.run_id:
                _note(self.spark, self.path, self.row, released_ms=now_ms())
            else:
                self.lost = f"the run lock of pipeline {self.row.pipeline!r} was taken over during the run"
        return self.lost


def acquire(
    spark: SparkSession, path: str, pipeline: str, run_id: str, *, duration_s: float, wait_s: float = 0.0
) -> RunLease:
    """Take the pipeline's lease, waiting up to ``wait_s`` seconds for a live one to end.

    Raises :class:`PipelineBusyError` ("pipeline X is already running (run R, started T,
    host H)") when another run still holds it after the wait.
    """
    log = get_logger("lakehouse.lease")
    deadline = time.monotonic() + wait_s
    announced = False
    while True:
        held, seen = _read(spark, path, pipeline)
        now = now_ms()
        gone = held is not None and held.live(now) and held.dead_here()
        if gone and held is not None:
            log.warning("run lock held by a process that is gone; taking it over", holder=held.describe())
        if held is None or not held.live(now) or gone:
            handed_over = held is not None and held.released_ms is not None
            mine = LeaseRow(
                pipeline,
                (held.epoch if held else 0) + 1,
                run_id,
                socket.gethostname(),
                os.getpid(),
                now,
                now + int(duration_s * 1000),
            )
            _claim(spark, path, mine, after=seen)
            held = current(spark, path, pipeline)
            if held is not None and held.epoch == mine.epoch and held.run_id == run_id:
                if held.epoch % FORGET_EVERY == 0:
                    _forget_old(spark, path, held)
                log.info("run lock taken", epoch=held.epoch, expires=iso(held.expires_ms))
                return RunLease(spark, path, held, duration_s, handed_over=handed_over)
        assert held is not None  # someone else holds a live lease
        left = deadline - time.monotonic()
        if left <= 0:
            raise PipelineBusyError(pipeline=pipeline, holder=held.describe(), run_id=held.run_id)
        if not announced:
            log.info("pipeline already running; waiting", holder=held.describe(), wait_seconds=round(left))
            announced = True
        time.sleep(min(POLL_SECONDS, left))
