"""Operating a pipeline from its run ledger: status, history, and what to rerun.

Everything here reads the ledger (:func:`lakehouse.ledger.read_ledger`, one row per run x
dataset x layer holding its latest event) and, for freshness, the gold tables' Delta history,
through the same table references the writers use (paths or Unity Catalog names), with SQL
and the DataFrame API only, so it works over Spark Connect too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from lakehouse.constants import GOLD, LAYERS
from lakehouse.io import delta
from lakehouse.ledger import ABANDONED, RUNNING, is_alive, read_ledger

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from lakehouse.config.model import PipelineConfig

RERUN_STATES = ("failed", ABANDONED)
OK_STATES = ("succeeded", "succeeded_with_warnings")
_FIELDS = ("run_id", "dataset", "layer", "status", "rows_read", "rows_written", "rows_quarantined",
           "rows_dropped", "table_version", "bad_files", "error", "error_class", "started_at",
           "finished_at", "duration_s", "event_at", "host", "pid", "counts")  # fmt: skip


_TIMES = ("started_at", "finished_at", "event_at")


def from_micros(micros: int) -> datetime:
    return datetime.fromtimestamp(micros / 1e6, timezone.utc).replace(tzinfo=None)


def now_utc() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def age_text(seconds: float) -> str:
    """An age for people: ``45s``, ``12.5m``, ``3.2h``, ``2.1d``."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if abs(seconds) >= size:
            return f"{seconds / size:.1f}{unit}"
    return f"{seconds:.0f}s"


def _age(moment: datetime | None, now: datetime) -> float | None:
    return None if moment is None else round((now - moment).total_seconds(), 1)


def ledger_states(spark: SparkSession, config: PipelineConfig) -> list[dict[str, Any]]:
    """This pipeline's ledger states, newest run first (empty before its first recorded run)."""
    if not delta.table_exists(spark, config.storage.runs):
        return []
    from pyspark.sql import functions as F  # noqa: N812

    states = read_ledger(spark, config).where(F.col("pipeline") == F.lit(config.name))
    # Times as epoch microseconds: timestamps collected to Python would be in the driver's local zone.
    for name in _TIMES:
        states = states.withColumn(name, F.unix_micros(name))
    found = []
    for row in states.collect():
        values = row.asDict()
        for name in _TIMES:
            micros = values.get(name)
            values[name] = None if micros is None else from_micros(micros)
        found.append({k: values.get(k) for k in _FIELDS})
    runs = _run_order(found)
    return sorted(
        found,
        key=lambda r: (runs.get(r["run_id"], datetime.min), r["started_at"] or r["event_at"] or datetime.min),
        reverse=True,
    )


def _run_order(rows: list[dict[str, Any]]) -> dict[str, datetime]:
    """Each run's start: the earliest start of its layers (or event, for a layer that never ran)."""
    starts: dict[str, datetime] = {}
    for row in rows:
        moment = row["started_at"] or row["event_at"] or row["finished_at"]
        if moment is not None:
            starts[row["run_id"]] = min(starts.get(row["run_id"], moment), moment)
    return starts


def _targets(config: PipelineConfig) -> list[tuple[str, str]]:
    """(dataset or derived name, layer) in pipeline order."""
    pairs = [(name, layer) for name, ds in config.datasets.items() for layer in LAYERS if layer in ds.layers]
    return pairs + [(spec.name, GOLD) for spec in config.derived]


def _gold_tables(config: PipelineConfig) -> list[tuple[str, str]]:
    tables = [(name, ds.gold.table) for name, ds in config.datasets.items() if ds.gold is not None]
    return tables + [(spec.name, spec.name) for spec in config.derived]


def status(spark: SparkSession, config: PipelineConfig) -> dict[str, Any]:
    """Per dataset and layer its last run, state, age, rows and last error; gold freshness."""
    now = now_utc()
    rows = ledger_states(spark, config)
    layers = []
    for name, layer in _targets(config):
        mine = [r for r in rows if (r["dataset"], r["layer"]) == (name, layer)]
        last = mine[0] if mine else None
        error = next((r for r in mine if r["error"] and r["status"] in RERUN_STATES), None)
        entry: dict[str, Any] = {
            "dataset": name,
            "layer": layer,
            "status": "never run" if last is None else None,
        }
        if last is not None:
            entry.update(last)
            entry["age_s"] = _age(last["finished_at"] or last["started_at"], now)
        entry["last_error"] = (
            None if error is None else {k: error[k] for k in ("run_id", "error", "error_class")}
        )
        layers.append(entry)
    gold = []
    for name, table in _gold_tables(config):
        ref = config.storage.table(GOLD, table)
        commit = delta.last_commit_time(spark, ref)
        ok = next(
            (r for r in rows if (r["dataset"], r["layer"]) == (name, GOLD) and r["status"] in OK_STATES), None
        )
        gold.append({
            "dataset": name, "table": ref, "version": commit[0] if commit else None,
            "updated_at": commit[1] if commit else None, "age_s": _age(commit[1], now) if commit else None,
            "last_success_run": ok["run_id"] if ok else None,
            "last_success_at": ok["finished_at"] if ok else None,
        })  # fmt: skip
    return {"pipeline": config.name, "env": config.env, "as_of": now, "layers": layers, "gold": gold}


def history(
    spark: SparkSession, config: PipelineConfig, dataset: str | None = None, last: int = 10
) -> list[dict[str, Any]]:
    """The last ``last`` runs (newest first), each with its layers (only ``dataset``'s when given)."""
    rows = ledger_states(spark, config)
    if dataset is not None:
        rows = [r for r in rows if r["dataset"] == dataset]
    return runs_of(rows, last)


def runs_of(rows: list[dict[str, Any]], last: int) -> list[dict[str, Any]]:
    """The newest ``last`` runs of ledger states ``rows`` (newest run first), each with its layers."""
    runs: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        runs.setdefault(row["run_id"], []).append(row)
    out = []
    for run_id, layers in list(runs.items())[: max(last, 0)]:
        layers.sort(key=lambda r: r["started_at"] or r["event_at"] or datetime.min)
        starts = [r["started_at"] for r in layers if r["started_at"]]
        ends = [r["finished_at"] for r in layers if r["finished_at"]]
        out.append({
            "run_id": run_id, "status": run_state([r["status"] for r in layers]),
            "started_at": min(starts) if starts else None, "finished_at": max(ends) if ends else None,
            "layers": layers,
        })  # fmt: skip
    return out


def run_state(states: Sequence[str]) -> str:
    """A run's state from its layers': the worst of them."""
    for state in ("running", ABANDONED, "failed", "succeeded_with_warnings", "succeeded"):
        if state in states:
            return state
    return "skipped" if states else "unknown"


@dataclass
class Rerun:
    """What ``rerun --failed`` runs: the last run, and per dataset the layers to run again."""

    run_id: str | None
    layers: dict[str, list[str]] = field(default_factory=dict)
    derived: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.layers and not self.derived


def failed_in_last_run(spark: SparkSession, config: PipelineConfig) -> Rerun:
    """The layers of the last run that failed or were abandoned, plus the later layers of the
    same dataset they kept from running (skipped, or never started by a killed run).

    A layer still ``running`` whose process is gone counts as abandoned (the next run marks
    it so in the ledger).
    """
    rows = ledger_states(spark, config)
    if not rows:
        return Rerun(None)
    run_id = rows[0]["run_id"]
    last = [r for r in rows if r["run_id"] == run_id]
    plan = Rerun(run_id)
    derived = {spec.name for spec in config.derived}
    for row in last:
        dead = row["status"] == RUNNING and not is_alive(row["host"], row["pid"])
        if row["status"] not in RERUN_STATES and not dead:
            continue
        if row["dataset"] in derived:
            plan.derived.append(row["dataset"])
        elif row["dataset"] in config.datasets:
            wanted = config.datasets[row["dataset"]].layers
            later = wanted[wanted.index(row["layer"]) :] if row["layer"] in wanted else ()
            have = plan.layers.setdefault(row["dataset"], [])
            have.extend(layer for layer in later if layer not in have)
    for name, layers in plan.layers.items():
        layers.sort(key=LAYERS.index)
        if GOLD in layers:  # a derived table over a dataset whose gold reruns is refreshed too
            plan.derived.extend(
                s.name for s in config.derived if name in s.inputs and s.name not in plan.derived
            )
    return plan
