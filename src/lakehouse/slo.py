"""``lakehouse check-slo``: the freshness and volume objectives of each dataset's contract.

:func:`evaluate` is pure: one dataset's objectives against what was measured for it
(:class:`Measured`). :func:`measure` reads those values from the run ledger
(:func:`lakehouse.operations.ledger_states`) and, for a freshness column, the newest value
of that column in the dataset's newest layer table (gold when the dataset has gold, else
silver), with the DataFrame API only, so it works over Spark Connect too.

What counts:

* freshness without a column: the age of the dataset's last successful run, i.e. the newest
  run in which at least one of its layers succeeded and none failed, was abandoned or is
  still running (a run with nothing new counts: it shows the pipeline runs);
* freshness with a column: now minus the newest value of that column (a date counts from its
  midnight UTC); a table that does not exist yet or has no value breaches;
* volume: the rows the newest successful silver layer wrote (a run with nothing new wrote 0).

A dataset that never succeeded breaches every objective it declares.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from lakehouse.config.slo import FreshnessSlo, Slo, VolumeSlo
from lakehouse.constants import GOLD, SILVER
from lakehouse.io import delta
from lakehouse.ledger import ABANDONED, RUNNING
from lakehouse.operations import OK_STATES, age_text, from_micros, ledger_states, now_utc

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from lakehouse.config.model import DatasetConfig, PipelineConfig

PASS, BREACH, NONE_DECLARED = "pass", "BREACH", "none declared"
NEVER = "never succeeded"
_BAD_STATES = ("failed", ABANDONED, RUNNING)


@dataclass(frozen=True)
class Measured:
    """What was measured for one dataset (None: nothing to measure, see ``note``)."""

    last_success_run: str | None = None
    last_success_at: datetime | None = None
    silver_run: str | None = None
    silver_rows: int | None = None
    table: str | None = None  # the table the freshness column was read from
    newest_value: datetime | None = None
    note: str | None = None  # why newest_value is None: no table yet, no rows, column missing


def _check(dataset: str, slo: str, status: str, measured: str, bound: str, **more: Any) -> dict[str, Any]:
    return {"dataset": dataset, "slo": slo, "status": status, "measured": measured, "bound": bound, **more}


def _freshness(dataset: str, spec: FreshnessSlo, found: Measured, now: datetime) -> dict[str, Any]:
    bound = f"<= {spec.max_age}"
    if spec.column is None:
        name, moment, missing = "freshness (last run)", found.last_success_at, NEVER
        where: dict[str, Any] = {"run_id": found.last_success_run}
    else:
        name, moment = f"freshness ({spec.column})", found.newest_value
        missing = found.note or NEVER
        where = {"table": found.table, "newest": moment}
    if moment is None:
        return _check(dataset, name, BREACH, missing, bound, age_s=None, max_age_s=spec.max_age_s, **where)
    age = round((now - moment).total_seconds(), 1)
    status = PASS if age <= spec.max_age_s else BREACH
    return _check(dataset, name, status, age_text(age), bound, age_s=age, max_age_s=spec.max_age_s, **where)


def _volume(dataset: str, spec: VolumeSlo, found: Measured) -> dict[str, Any]:
    low, high = spec.min_rows, spec.max_rows
    if low is not None and high is not None:
        bound = f"{low}..{high} rows"
    else:
        bound = f">= {low} rows" if low is not None else f"<= {high} rows"
    limits = {"min_rows": low, "max_rows": high, "run_id": found.silver_run}
    rows = found.silver_rows
    if rows is None:
        text = NEVER if found.silver_run is None else "rows not recorded"
        return _check(dataset, "volume", BREACH, text, bound, rows=None, **limits)
    ok = (low is None or rows >= low) and (high is None or rows <= high)
    return _check(dataset, "volume", PASS if ok else BREACH, f"{rows} rows", bound, rows=rows, **limits)


def evaluate(dataset: str, slo: Slo | None, found: Measured, now: datetime) -> list[dict[str, Any]]:
    """One dataset's objectives against what was measured, one entry per objective."""
    if slo is None:
        return [_check(dataset, "-", NONE_DECLARED, "-", "-")]
    checks = []
    if slo.freshness is not None:
        checks.append(_freshness(dataset, slo.freshness, found, now))
    if slo.volume is not None:
        checks.append(_volume(dataset, slo.volume, found))
    return checks


def last_success(name: str, rows: list[dict[str, Any]]) -> tuple[str | None, datetime | None]:
    """The newest run of dataset ``name`` that succeeded (rows: newest run first) and its end."""
    runs: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if row["dataset"] == name:
            runs.setdefault(row["run_id"], []).append(row)
    for run_id, layers in runs.items():
        states = [r["status"] for r in layers]
        if any(s in OK_STATES for s in states) and not any(s in _BAD_STATES for s in states):
            ends = [r["finished_at"] or r["event_at"] for r in layers if r["status"] in OK_STATES]
            return run_id, max((e for e in ends if e is not None), default=None)
    return None, None


def _newest(spark: SparkSession, table: str, column: str) -> tuple[datetime | None, str | None]:
    """The newest value of ``column`` in ``table`` (UTC), or None and why."""
    from pyspark.sql import functions as F  # noqa: N812

    if not delta.table_exists(spark, table):
        return None, f"no table yet ({NEVER})"
    frame = delta.read_table(spark, table)
    if column not in frame.columns:
        return None, f"column {column} is not in the table"
    (micros,) = frame.agg(F.max(F.unix_micros(F.col(column).cast("timestamp")))).first() or (None,)
    return (None, "no rows with a value") if micros is None else (from_micros(int(micros)), None)


def measure(
    spark: SparkSession, config: PipelineConfig, dataset: DatasetConfig, rows: list[dict[str, Any]]
) -> Measured:
    """What ``dataset``'s objectives need, from the ledger ``rows`` and its newest layer table."""
    run_id, finished = last_success(dataset.name, rows)
    silver = next(
        (
            r
            for r in rows
            if (r["dataset"], r["layer"]) == (dataset.name, SILVER) and r["status"] in OK_STATES
        ),
        None,
    )
    found = Measured(
        last_success_run=run_id,
        last_success_at=finished,
        silver_run=silver["run_id"] if silver else None,
        silver_rows=silver["rows_written"] if silver else None,
    )
    freshness = dataset.contract.slo.freshness if dataset.contract and dataset.contract.slo else None
    if freshness is None or freshness.column is None:
        return found
    table = config.storage.table(GOLD, dataset.gold.table) if dataset.gold else dataset.silver_path
    newest, note = _newest(spark, table, freshness.column)
    return Measured(**{**asdict(found), "table": table, "newest_value": newest, "note": note})


def check_slos(spark: SparkSession, config: PipelineConfig, dataset: str | None = None) -> dict[str, Any]:
    """Every declared objective of the pipeline's datasets (or of ``dataset``), evaluated now."""
    names = [config.dataset(dataset).name] if dataset is not None else list(config.datasets)
    now = now_utc()
    rows = ledger_states(spark, config)
    checks = []
    for name in names:
        ds = config.datasets[name]
        slo = ds.contract.slo if ds.contract else None
        found = measure(spark, config, ds, rows) if slo is not None else Measured()
        checks.extend(evaluate(name, slo, found, now))
    breached = [c for c in checks if c["status"] == BREACH]
    return {
        "pipeline": config.name, "env": config.env, "as_of": now, "passed": not breached,
        "checks": checks, "breached": len(breached),
    }  # fmt: skip
