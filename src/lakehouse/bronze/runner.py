"""``ingest``: load the landing files of a dataset not loaded before into its bronze table.

Each run lists the landing folder once, diffs it against the checkpoint's file ledger, and
writes the new files in batches of at most ``max_files_per_batch``. Per batch: the plan is
written to the checkpoint, the data is appended to Delta with ``txnAppId``/``txnVersion``
(a replayed batch that already committed is skipped by Delta), then the batch is committed
in the ledger. A plan left without a commit by a killed run is replayed first, unchanged.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lakehouse.bronze import autoloader, writer
from lakehouse.bronze.checkpoint import Batch, Checkpoint, LedgerState
from lakehouse.bronze.listing import diff_files, list_landing
from lakehouse.bronze.sniff import Inspection, first_line, inspect_files
from lakehouse.constants import BRONZE, DRIFT
from lakehouse.errors import IngestionError, LakehouseError
from lakehouse.io import delta, files
from lakehouse.log import get_logger
from lakehouse.results import LayerResult, RunContext, working
from lakehouse.transforms.conform import file_drift

# The key of bronze's own mark in its commits' JSON ``userMetadata`` (next to the drift record).
MARK = "lakehouse_bronze"

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from lakehouse.config.model import DatasetConfig, PipelineConfig
    from lakehouse.io.files import FileEntry


@dataclass
class _Run:
    """Everything one ingest call needs and accumulates."""

    spark: SparkSession
    dataset: DatasetConfig
    ctx: RunContext
    ckpt: Checkpoint
    state: LedgerState
    app_id: str
    result: LayerResult
    log: Any = None
    salt: str | None = None  # for pii: {at: bronze}


def _bronze_salt(dataset: DatasetConfig) -> str | None:
    """The PII salt when the contract protects PII already in bronze (resolved before reading)."""
    from lakehouse.silver.runner import _salt

    contract = dataset.contract
    return _salt(contract) if contract is not None and contract.pii_at == "bronze" else None


def ingest(
    spark: SparkSession, dataset: DatasetConfig, config: PipelineConfig, ctx: RunContext
) -> LayerResult:
    """Load exactly the files of ``dataset.source.path`` not loaded before, then stop.

    Returns rows read/written, the number of new files and the bronze Delta version; details
    name bad, empty and replaced files and new or rescued columns. Raises
    :class:`IngestionError` (or :class:`SchemaDriftError`) naming the dataset and file, with
    ``exc.result`` holding what the batches before the failure did.
    """
    source = dataset.source
    if autoloader.engine(source, os.environ) == autoloader.AUTOLOADER:
        from lakehouse.bronze.stream import ingest_with_autoloader

        return ingest_with_autoloader(spark, dataset, config, ctx, _bronze_salt(dataset))
    if not files.exists(spark, source.path):
        raise IngestionError(f"landing path {source.path} does not exist", dataset=dataset.name)
    location = config.storage.checkpoint(BRONZE, dataset.name)
    ckpt = Checkpoint(location)
    run = _Run(
        spark,
        dataset,
        ctx,
        ckpt,
        ckpt.load(),
        f"lakehouse-bronze-{ckpt.checkpoint_id()}",
        LayerResult(dataset.name, BRONZE, files=0),
        log=get_logger("lakehouse.bronze"),
        salt=_bronze_salt(dataset),
    )
    run.result.details = {
        "batches": 0,
        "bad_files": {},
        "empty_files": [],
        "changed_files": [],
        "ignored_changed_files": [],
        "new_columns": [],
        "rescued_columns": [],
        "retyped_files": {},
        "replayed_batch": None,
        "skipped_files": {},
        "drift": {"unknown_columns": [], "missing_columns": []},
    }
    try:
        batches = _plan_batches(run)
        if batches:
            working()
        for batch in batches:
            _run_batch(run, batch)
        _record_bad(run)
    except LakehouseError as exc:
        raise exc.with_result(_finish(run)) from exc.__cause__
    return _finish(run)


def _changed(run: _Run, changed: list[FileEntry]) -> list[FileEntry]:
    """The changed files to load again, per ``on_file_change`` (``fail`` raises on the first)."""
    mode = run.dataset.source.on_file_change
    if changed and mode == "fail":
        raise IngestionError(
            "file was replaced after it was ingested (size or modification "
            "time changed; on_file_change is fail)",
            dataset=run.dataset.name,
            file=changed[0].path,
        )
    for entry in changed:
        if mode == "ignore":
            run.log.info(
                "file changed after ingestion; not loaded again (on_file_change is ignore)", file=entry.path
            )
            run.result.details["ignored_changed_files"].append(entry.path)
            continue
        run.log.warning(
            "file replaced after ingestion; ingesting it again",
            file=entry.path,
            size=entry.size,
            mtime=entry.mtime,
        )
        run.result.details["changed_files"].append(entry.path)
    return [] if mode == "ignore" else changed


def _plan_batches(run: _Run) -> list[Batch]:
    source, state = run.dataset.source, run.state
    skipped: dict[str, str] = {}
    listed = list_landing(run.spark, source.path, source.pattern, skipped)
    for path, reason in skipped.items():
        run.log.warning("landing entry skipped; it is looked at again next run", file=path, reason=reason)
    run.result.details["skipped_files"] = skipped
    pending = state.pending
    # A pending batch's files (and the ones it set aside as bad) are handled by its replay.
    planned = {f[0] for f in pending.files} | set(pending.bad) if pending else set()
    diff = diff_files(listed, state.ingested, planned)
    changed = _changed(run, diff.changed)
    todo = sorted(diff.new + changed, key=lambda e: (e.mtime, e.path))
    run.log.info(
        "landing listed",
        files=len(listed),
        new=len(diff.new),
        changed=len(diff.changed),
        already_ingested=diff.known,
        pending_batch=pending.batch_id if pending else None,
    )
    batches = [pending] if pending else []
    size = source.max_files_per_batch
    for start in range(0, len(todo), size):
        chunk = todo[start : start + size]
        batches.append(
            Batch(
                state.next_batch + len(batches) - (1 if pending else 0),
                [(e.path, e.size, e.mtime) for e in chunk],
            )
        )
    if pending:
        run.result.details["replayed_batch"] = pending.batch_id
    return batches


def _set_bad(run: _Run, batch: Batch, bad: dict[str, str]) -> None:
    """Take unreadable files out of the batch, or stop when on_bad_file is fail."""
    if not bad:
        return
    path, reason = next(iter(bad.items()))
    if run.dataset.source.on_bad_file == "fail":
        raise IngestionError(
            f"cannot read the file ({reason}; on_bad_file is fail)", dataset=run.dataset.name, file=path
        )
    for path, reason in bad.items():
        run.log.warning("bad file set aside; it will be tried again next run", file=path, reason=reason)
    batch.bad.update(bad)
    batch.files = [f for f in batch.files if f[0] not in batch.bad]


def _write(run: _Run, batch: Batch, paths: list[str], look: Inspection) -> writer.Frame:
    # Built before the plan is written: schema drift in fail mode leaves no plan behind.
    frame = writer.build_frame(
        run.spark,
        run.dataset,
        paths,
        look.headers,
        run.ctx.run_id,
        salt=run.salt,
        types=look.types,
        retyped=look.retyped,
    )
    run.ckpt.plan(batch)
    if frame.df is not None:
        merge = run.dataset.source.adds_columns or run.dataset.source.schema == "infer"
        txn = (run.app_id, batch.batch_id)
        drift = _drift(run, frame)
        delta.append(
            run.spark,
            frame.df,
            run.dataset.bronze_path,
            txn=txn,
            merge_schema=merge,
            change_feed=True,
            user_metadata=json.dumps({MARK: _marker(run, batch), **({DRIFT: drift} if drift else {})}),
        )
    return frame


def _marker(run: _Run, batch: Batch) -> dict[str, Any]:
    """This run's mark on its write of ``batch`` (under :data:`MARK` in the commit's JSON
    ``userMetadata``): how its commit is told from others'."""
    return {"run": run.ctx.run_id, "batch": batch.batch_id}


def _drift(run: _Run, frame: writer.Frame) -> dict[str, dict[str, list[str]]] | None:
    """The batch's drift against the contract, per column the files; recorded in the commit."""
    if run.dataset.contract is None:
        return None
    found = file_drift(frame.columns, run.dataset.contract)
    details = run.result.details["drift"]
    for key, columns in found.items():
        details[key].extend(c for c in columns if c not in details[key])
    if any(found.values()):
        run.log.warning("schema drift in the batch's files", **{k: sorted(v) for k, v in found.items()})
    return found if any(found.values()) else None


def _note_retyped(run: _Run, retyped: dict[str, dict[str, tuple[str, str]]]) -> None:
    """Files loaded with columns whose type did not fit (their values rescued): logged, listed."""
    for path, columns in retyped.items():
        reasons = "; ".join(reason for _, reason in columns.values())
        run.log.warning("column type does not fit; values moved to _rescued_data", file=path, reason=reasons)
        run.result.details["retyped_files"][path] = reasons


def _run_batch(run: _Run, batch: Batch) -> None:
    dataset, log = run.dataset, run.log
    positional = dataset.contract.source_names if dataset.contract is not None else ()
    typed = dataset.source.format in ("orc", "parquet")
    table = writer.table_types(run.spark, dataset.bronze_path) if typed else None
    look = inspect_files(run.spark, batch.files, dataset.source, tuple(positional), table)
    _set_bad(run, batch, look.bad)
    _note_retyped(run, look.retyped)
    before = delta.table_version(run.spark, dataset.bronze_path)
    paths = [f[0] for f in batch.files if f[0] not in look.empty]
    try:
        frame = _write(run, batch, paths, look)
    except LakehouseError:
        raise
    except Exception as exc:  # find out whether unreadable files caused it
        found = {p: r for p in paths if (r := writer.probe(run.spark, dataset, p, look.headers))}
        if not found:
            raise IngestionError(
                f"batch {batch.batch_id} could not be written: {first_line(exc)}",
                dataset=dataset.name,
                file=", ".join(paths[:5]),
            ) from exc
        _set_bad(run, batch, found)
        paths = [p for p in paths if p not in found]
        frame = _write(run, batch, paths, look)
    # Only this run's own commit counts: Delta skips a write whose txnVersion it already has
    # (a replay, or a concurrent run that wrote the batch first), and the commits since
    # ``before`` may be another run's.
    commits = delta.history(run.spark, dataset.bronze_path, since=-1 if before is None else before)
    after = commits[0].version if commits else before
    mine = [c for c in commits if delta.parse_metadata(c, MARK) == _marker(run, batch)]
    rows = delta.metrics_of(mine, "numOutputRows")
    if frame.df is not None and not mine:
        log.info("batch already in Delta from an interrupted run; not written again", batch_id=batch.batch_id)
    run.ckpt.commit(batch, run.state, {"table_version": after, "rows": rows, "run_id": run.ctx.run_id})
    _account(run, batch, look.empty, frame, rows, after)
    log.info(
        "batch committed",
        batch_id=batch.batch_id,
        files=len(batch.files),
        rows=rows,
        table_version=after,
        bad_files=len(batch.bad),
    )


def _account(
    run: _Run, batch: Batch, empty: set[str], frame: writer.Frame, rows: int, version: int | None
) -> None:
    result, details = run.result, run.result.details
    result.rows_read += rows
    result.rows_written += rows
    result.files = (result.files or 0) + len(batch.files)
    result.table_version = version
    details["batches"] += 1
    details["bad_files"].update(batch.bad)
    details["empty_files"].extend(sorted(empty))
    for key, cols in (("new_columns", frame.new_columns), ("rescued_columns", frame.rescued_columns)):
        details[key].extend(c for c in cols if c not in details[key])


def _record_bad(run: _Run) -> None:
    """Keep ``bad_files.json`` in the checkpoint listing the files that are still unreadable."""
    record = run.ckpt.bad_files()
    changed = False
    for path in list(record):
        if path in run.state.ingested:
            del record[path]
            changed = True
    for path, reason in run.result.details["bad_files"].items():
        record[path] = {"reason": reason, "run_id": run.ctx.run_id}
        changed = True
    if changed:
        run.ckpt.record_bad_files(record)


def _finish(run: _Run) -> LayerResult:
    if run.result.table_version is None:
        run.result.table_version = delta.table_version(run.spark, run.dataset.bronze_path)
    return run.result
