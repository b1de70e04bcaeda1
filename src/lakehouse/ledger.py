"""The run ledger: one Delta row per event of a run x dataset x layer, with its counts,
versions and the schema drift (unknown and missing columns) the layer found in the run's files.

A path (``<root>/_lakehouse_runs``) or a Unity Catalog name (``<catalog>.<ops schema>.lakehouse_runs``).

Each layer writes an event when it starts (``running``) and one when it ends (``succeeded``,
``succeeded_with_warnings``, ``failed`` or ``skipped``); the next run of a pipeline adds an
``abandoned`` event for a layer whose run was killed (its last event is ``running`` and its
process is gone). Every event is a blind append, never an UPDATE: concurrent writers cannot
lose each other's rows, and it works over Spark Connect and on object stores alike. The state
of a run x dataset x layer is its latest event (:func:`read_ledger`; :func:`read_events` gives
them all).

``counts`` holds a layer's rows by outcome beyond the four ``rows_*`` columns: a change-feed
gold layer's buckets (inserted, updated, deleted, stale, duplicate, no_op); NULL elsewhere.
``unknown_columns`` and ``missing_columns`` list the drift bronze and silver found in the
run's batches (NULL when there was none).

Ledgers written before the event, ``counts`` or drift columns existed stay readable: appends
merge the new columns into the table, and their old rows (one row per layer, written at the
end of a run) read as that layer's final state.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import socket
import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from lakehouse.io import delta
from lakehouse.io.rows import local_frame
from lakehouse.log import get_logger

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from lakehouse.config.model import PipelineConfig
    from lakehouse.results import LayerResult, RunContext, RunSummary

RUNNING, ABANDONED = "running", "abandoned"
WARNED = "succeeded_with_warnings"
FINAL_STATES = ("succeeded", WARNED, "failed", "skipped", ABANDONED)
COLUMNS = (
    ("run_id", "string"), ("pipeline", "string"), ("env", "string"), ("dataset", "string"),
    ("layer", "string"), ("status", "string"), ("rows_read", "long"), ("rows_written", "long"),
    ("rows_quarantined", "long"), ("rows_dropped", "long"), ("table_version", "long"), ("files", "long"),
    ("error", "string"), ("started_at", "timestamp"), ("finished_at", "timestamp"),
    # Added with run states (older ledgers gain them on the next append):
    ("event_at", "timestamp"), ("duration_s", "double"), ("error_class", "string"),
    ("versions_read", "map<string,array<bigint>>"), ("bad_files", "long"), ("warnings", "array<string>"),
    ("library_version", "string"), ("config_hash", "string"), ("host", "string"), ("pid", "long"),
    ("counts", "map<string,bigint>"),
    # Added with drift per batch:
    ("unknown_columns", "array<string>"), ("missing_columns", "array<string>"),
)  # fmt: skip
LEDGER_SCHEMA = ", ".join(f"{name} {kind}" for name, kind in COLUMNS)
_RETRIES = 5


def _utc(moment: datetime | None) -> datetime | None:
    """An aware UTC time: Spark stores the instant, whatever the driver's time zone."""
    return None if moment is None else moment.astimezone(timezone.utc)


@functools.cache
def library_version() -> str:
    """The installed version of this library (``unknown`` when run from an uninstalled tree)."""
    from importlib.metadata import PackageNotFoundError, packages_distributions, version

    try:
        return version((packages_distributions().get("lakehouse") or ["lakehouse"])[0])
    except PackageNotFoundError:
        return "unknown"


def config_hash(config: PipelineConfig) -> str:
    """A short hash of the effective configuration (pipeline, contracts and overlay merged)."""
    tree: Any = config.node.value if config.node is not None else repr(config)
    text = json.dumps(tree, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _drift(details: dict[str, Any], kind: str) -> list[str] | None:
    """The batch-level drift a layer reported (bronze and silver), else None."""
    found = (details.get("drift") or {}).get(kind)
    return sorted(found) if found else None


class Ledger:
    """Writes one run's events; ``enabled=False`` writes nothing (``run_pipeline(record=False)``).

    A layer's end state is held until the next layer starts and goes into the same append as
    that ``running`` event (or is written by :meth:`flush` at the end of the run): one commit
    per layer instead of two, and only Python runs between the two events.
    """

    def __init__(self, spark: SparkSession, config: PipelineConfig, ctx: RunContext, enabled: bool) -> None:
        self.spark, self.config, self.ctx, self.enabled = spark, config, ctx, enabled
        self.common = (library_version(), config_hash(config), socket.gethostname(), os.getpid())
        self.pending: list[tuple[Any, ...]] = []

    def _row(self, result: LayerResult, status: str, run_id: str | None = None) -> tuple[Any, ...]:
        error = result.error
        versions = result.details.get("versions_read") or None
        bad = result.details.get("bad_files")
        return (
            run_id or self.ctx.run_id, self.ctx.pipeline, self.ctx.env, result.dataset, result.layer,
            status, result.rows_read, result.rows_written, result.rows_quarantined, result.rows_dropped,
            result.table_version, result.files, error, _utc(result.started_at),
            _utc(result.finished_at), datetime.now(timezone.utc), result.duration_s,
            result.details.get("error_class") if error else None,
            {k: [int(x) for x in v] for k, v in versions.items()} if versions else None,
            len(bad) if bad is not None else None, result.details.get("warnings") or None,
            *self.common, result.details.get("cdc"),
            _drift(result.details, "unknown_columns"), _drift(result.details, "missing_columns"),
        )  # fmt: skip

    def started(self, result: LayerResult) -> None:
        """The layer begins: a ``running`` event with its start time (after any held end states)."""
        self._append([*self.pending, self._row(result, RUNNING)])

    def finished(self, results: list[LayerResult]) -> None:
        """The layers' end states, written with the next event or by :meth:`flush`."""
        self.pending.extend(self._row(r, r.status) for r in results)

    def flush(self) -> None:
        """Write the end states still held."""
        self._append(list(self.pending))

    def _append(self, rows: list[tuple[Any, ...]]) -> None:
        if not self.enabled or not rows:
            self.pending.clear()
            return
        frame = local_frame(self.spark, rows, LEDGER_SCHEMA)
        append_retrying(self.spark, frame, self.config.storage.runs)
        self.pending.clear()

    def abandon_killed(self) -> list[dict[str, Any]]:
        """Mark the layers of earlier runs of this pipeline left ``running`` by a dead process.

        A process counts as dead when it ran on this host and its pid is gone, or ran on
        another host (only one run of a pipeline runs at a time). Returns the layers marked.
        """
        if not self.enabled or not delta.table_exists(self.spark, self.config.storage.runs):
            return []
        from pyspark.sql import functions as F  # noqa: N812

        states = read_ledger(self.spark, self.config)
        wanted = (
            (F.col("pipeline") == F.lit(self.ctx.pipeline))
            & (F.col("status") == F.lit(RUNNING))
            & (F.col("run_id") != F.lit(self.ctx.run_id))
        )
        stale = [row.asDict() for row in states.where(wanted).collect()]
        dead = [row for row in stale if not is_alive(row.get("host"), row.get("pid"))]
        if dead:
            now = datetime.now(timezone.utc)
            rows = [_abandoned(row, now) for row in dead]
            append_retrying(
                self.spark, local_frame(self.spark, rows, LEDGER_SCHEMA), self.config.storage.runs
            )
        return [{k: row.get(k) for k in ("run_id", "dataset", "layer", "started_at")} for row in dead]


def _abandoned(row: dict[str, Any], now: datetime) -> tuple[Any, ...]:
    values = dict(row)
    values.update(
        status=ABANDONED,
        error="the run ended without recording this layer's outcome (process killed or lost)",
        error_class="Abandoned",
        event_at=now,
    )
    return tuple(values.get(name) for name, _ in COLUMNS)


def is_alive(host: str | None, pid: int | None) -> bool:
    """Whether the process that wrote a ``running`` event may still run (another host: no)."""
    if host != socket.gethostname() or pid is None:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def append_retrying(spark: SparkSession, frame: DataFrame, table: str) -> None:
    """Append, retrying a commit that lost a race with another writer changing the schema."""
    for attempt in range(_RETRIES):
        try:
            delta.append(spark, frame, table, merge_schema=True, properties=delta.LOG_TABLE_PROPERTIES)
            return
        except Exception as exc:  # Delta's concurrent-modification errors, by name
            text = f"{type(exc).__name__} {exc}"
            if attempt == _RETRIES - 1 or not any(
                word in text
                for word in ("Concurrent", "MetadataChanged", "ProtocolChanged", "DELTA_CONCURRENT")
            ):
                raise
            get_logger("lakehouse.ledger").warning("ledger append conflicted, retrying", attempt=attempt + 1)
            time.sleep(0.2 * (attempt + 1))


def read_events(spark: SparkSession, config: PipelineConfig) -> DataFrame:
    """Every event of the ledger, as written."""
    return delta.read_table(spark, config.storage.runs)


def read_ledger(spark: SparkSession, config: PipelineConfig) -> DataFrame:
    """One row per run x dataset x layer: its latest event (its state now)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F  # noqa: N812

    events = read_events(spark, config)
    for name, kind in (("event_at", "timestamp"), ("host", "string"), ("pid", "long")):
        if name not in events.columns:  # a ledger no run of this version appended to yet
            events = events.withColumn(name, F.lit(None).cast(kind))
    order = Window.partitionBy("run_id", "dataset", "layer").orderBy(
        F.coalesce("event_at", "finished_at").desc(), (F.col("status") == RUNNING).asc()
    )
    return events.withColumn("_n", F.row_number().over(order)).where("_n = 1").drop("_n")


def record_run(spark: SparkSession, config: PipelineConfig, ctx: RunContext, summary: RunSummary) -> None:
    """Append the end states of a summary's layers in one commit (what a run without events records)."""
    ledger = Ledger(spark, config, ctx, enabled=True)
    ledger.finished(summary.results)
    ledger.flush()
