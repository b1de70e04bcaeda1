"""What the report shows, read from the pipeline's tables into one JSON-ready dict.

The only module of the report that reads: the run ledger (:func:`lakehouse.operations.ledger_states`),
the quarantine tables (counted as ``quarantine show`` counts them), the expectation metrics
table (``gold/_expectations``) and, for freshness, what ``check-slo`` measures. Times are UTC
text, ages are also given as text, so the page renders without a clock and ``--json`` prints
the same dict.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from lakehouse.constants import GOLD, SILVER
from lakehouse.io import delta
from lakehouse.operations import age_text, ledger_states, now_utc, runs_of
from lakehouse.quarantine_review import show
from lakehouse.report.conservation import conservation
from lakehouse.slo import NONE_DECLARED, Measured, evaluate, last_success, measure

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from lakehouse.config.model import PipelineConfig

_LAYER_FIELDS = ("run_id", "dataset", "layer", "status", "rows_read", "rows_written", "rows_quarantined",
                 "rows_dropped", "bad_files", "counts", "error", "duration_s")  # fmt: skip


def _time(moment: datetime | None) -> str | None:
    return None if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S")


def _age(moment: datetime | None, now: datetime) -> str | None:
    return None if moment is None else age_text((now - moment).total_seconds())


def _layer(row: dict[str, Any]) -> dict[str, Any]:
    """A ledger state as the page shows it: change-feed buckets in their documented order."""
    from lakehouse.transforms.cdc import BUCKETS

    found = {k: row.get(k) for k in _LAYER_FIELDS}
    if found["counts"]:
        order = {name: i for i, name in enumerate(BUCKETS)}
        found["counts"] = dict(sorted(found["counts"].items(), key=lambda kv: (order.get(kv[0], 99), kv[0])))
    return found


def targets(config: PipelineConfig) -> list[dict[str, Any]]:
    """Datasets and derived tables in pipeline order, with their layers."""
    found = [{"dataset": n, "layers": list(ds.layers), "derived": False} for n, ds in config.datasets.items()]
    return found + [{"dataset": spec.name, "layers": [GOLD], "derived": True} for spec in config.derived]


def _quarantine(spark: SparkSession, config: PipelineConfig) -> list[dict[str, Any]]:
    tables = []
    for name, ds in config.datasets.items():
        if SILVER not in ds.layers:
            continue
        for table in show(spark, config, name, None, 0)["tables"]:
            keep = ("layer", "table", "rows", "reasons")
            tables.append({"dataset": name, **{k: table[k] for k in keep}})
    return tables


def _expectations(spark: SparkSession, config: PipelineConfig, run_ids: list[str]) -> list[dict[str, Any]]:
    """Per dataset and gold expectation, the batches of ``run_ids`` in which it failed."""
    if not run_ids or not delta.table_exists(spark, config.storage.metrics):
        return []
    from pyspark.sql import functions as F  # noqa: N812

    metrics = delta.read_table(spark, config.storage.metrics)
    failed = metrics.where(
        (F.col("pipeline") == F.lit(config.name)) & ~F.col("passed") & F.col("run_id").isin(run_ids)
    )
    grouped = failed.groupBy("dataset", "rule", "action").agg(
        F.count(F.lit(1)).alias("batches"),
        F.sum("rows_failed").alias("rows_failed"),
        F.max_by("run_id", "evaluated_at").alias("last_run"),
    )
    found = [r.asDict() for r in grouped.collect()]
    return sorted(found, key=lambda r: (-(r["rows_failed"] or 0), -r["batches"], r["dataset"], r["rule"]))


def _freshness(
    spark: SparkSession, config: PipelineConfig, rows: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    now, out = now_utc(), []
    for target in targets(config):
        name = target["dataset"]
        ds = config.datasets.get(name)
        slo = ds.contract.slo if ds is not None and ds.contract else None
        if ds is not None and slo is not None:
            found = measure(spark, config, ds, rows)
        else:
            found = Measured(*last_success(name, rows))
        checks = [c for c in evaluate(name, slo, found, now) if c["status"] != NONE_DECLARED]
        column = slo.freshness.column if slo is not None and slo.freshness is not None else None
        out.append({
            "dataset": name, "last_success_run": found.last_success_run,
            "last_success_at": _time(found.last_success_at),
            "last_success_age": _age(found.last_success_at, now),
            "column": column, "table": found.table, "newest": _time(found.newest_value),
            "newest_age": _age(found.newest_value, now), "note": found.note,
            "slos": [{k: c[k] for k in ("slo", "status", "measured", "bound")} for c in checks],
        })  # fmt: skip
    return out


def gather(spark: SparkSession, config: PipelineConfig, last: int = 30) -> dict[str, Any]:
    """Everything the page shows about the pipeline's ``last`` runs."""
    rows = ledger_states(spark, config)
    runs = list(reversed(runs_of(rows, last)))  # oldest first: the charts' axis
    layers = [_layer(layer) for run in runs for layer in run["layers"]]
    last_run = runs[-1]["run_id"] if runs else None
    modes = {name: ds.gold.mode for name, ds in config.datasets.items() if ds.gold is not None}
    return {
        "pipeline": config.name, "env": config.env, "as_of": _time(now_utc()), "last": last,
        "targets": targets(config),
        "runs": [{"run_id": r["run_id"], "status": r["status"], "started_at": _time(r["started_at"]),
                  "finished_at": _time(r["finished_at"])} for r in runs],
        "layers": layers,
        "conservation": {
            "run_id": last_run,
            "rows": conservation([r for r in layers if r["run_id"] == last_run], modes),
        },
        "quarantine": _quarantine(spark, config) if runs else [],
        "expectations": _expectations(spark, config, [r["run_id"] for r in runs]),
        "freshness": _freshness(spark, config, rows) if runs else [],
    }  # fmt: skip
