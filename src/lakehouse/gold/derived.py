"""Derived gold tables: Spark SQL over other datasets' gold and silver tables.

``publish_derived`` records the Delta versions of its inputs in its state
(``<checkpoints>/gold/<name>/state.json``) and skips the whole computation when they (and the
definition, and the table's own version) did not change since. Publishing is planned first
(inputs pinned, a publish number used as ``txnVersion``), so a run killed in between replays
the same inputs and an append is not applied twice.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from typing import TYPE_CHECKING, Any

from pyspark.sql import SparkSession

from lakehouse.config.gold import DerivedSpec, GoldSpec
from lakehouse.constants import GOLD
from lakehouse.errors import PublishError
from lakehouse.gold.refresh import NOTHING, touched
from lakehouse.gold.runner import add_outcome, as_lakehouse_error, failed, finish, target_of
from lakehouse.gold.wap import publish_batch
from lakehouse.io import delta
from lakehouse.io.state import StateDir
from lakehouse.log import get_logger
from lakehouse.results import LayerResult, RunContext, working

if TYPE_CHECKING:
    from lakehouse.config.model import PipelineConfig

SKIP_REASON = "inputs unchanged"
STATE = "state.json"


def _silver_referenced(sql: str, dataset: str) -> bool:
    """True when ``sql`` names the view ``silver_<dataset>`` (identifiers are case-insensitive)."""
    return re.search(rf"(?<![\w]){re.escape(f'silver_{dataset}')}(?![\w])", sql, re.IGNORECASE) is not None


def _fingerprint(spec: DerivedSpec) -> str:
    """A hash of the derived table's definition: a changed SQL, mode or rule republishes."""
    text = json.dumps(dataclasses.asdict(spec), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _input_versions(
    spark: SparkSession, spec: DerivedSpec, config: PipelineConfig
) -> tuple[dict[str, int], dict[str, tuple[str, str]]]:
    """The Delta version of every table the SQL reads, and the views to register.

    Keys of the versions are ``gold/<table>`` and ``silver/<dataset>``; silver tables count only
    when the SQL references their ``silver_<dataset>`` view. ``views`` maps a temp view name to
    (table path, version key).
    """
    versions: dict[str, int] = {}
    views: dict[str, tuple[str, str]] = {}
    for name in spec.inputs:
        dataset = config.dataset(name)
        if dataset.gold is not None:
            path = config.storage.table(GOLD, dataset.gold.table)
            version = delta.table_version(spark, path)
            if version is None:
                raise PublishError(
                    f"derived {spec.name!r}: input gold table {path} does not exist "
                    f"(run the gold layer of {name!r} first)"
                )
            key = f"gold/{dataset.gold.table}"
            versions[key] = version
            views[f"gold_{dataset.gold.table}"] = (path, key)
        if _silver_referenced(spec.sql, name):
            version = delta.table_version(spark, dataset.silver_path)
            if version is not None:
                versions[f"silver/{name}"] = version
                views[f"silver_{name}"] = (dataset.silver_path, f"silver/{name}")
    return versions, views


def _register_inputs(
    spark: SparkSession, views: dict[str, tuple[str, str]], versions: dict[str, int]
) -> None:
    """Register each input as a temp view pinned to the version recorded for it."""
    for view, (path, key) in views.items():
        delta.read_table(spark, path, versions[key]).createOrReplaceTempView(view)


def _plan(
    store: StateDir, current: int | None, versions: dict[str, int], fingerprint: str, partial: bool
) -> dict[str, Any] | None:
    """The publish to do now (a pending one first), or None when nothing changed since the last.

    ``partial`` (``refresh: partitions``): when only inputs changed since the last publish (same
    definition, the table as that publish left it), the plan keeps the input versions of that
    publish as ``since``, and only the partitions the changes reach are recomputed.
    """
    found = store.read(STATE, {})
    if found.get("plan"):
        plan: dict[str, Any] = found["plan"]
        return plan
    last = found.get("last") or {}
    same = last.get("spec") == fingerprint and current is not None and last.get("table_version") == current
    if same and last.get("inputs") == versions:
        return None
    plan = {"inputs": versions, "spec": fingerprint, "n": int(found.get("n", 0)) + 1}
    if partial and same and last.get("inputs"):
        plan["since"] = last["inputs"]
    return plan


def publish_derived(
    spark: SparkSession, spec: DerivedSpec, config: PipelineConfig, ctx: RunContext
) -> LayerResult:
    """Compute a derived gold table with Spark SQL over ``gold_<table>``/``silver_<dataset>`` views.

    Expectations are audited on the SQL result before the table is written with ``spec.mode``.
    The state records the Delta version of every input (and a hash of ``spec``) with the
    table version the publish left; when they are all the same now, nothing is computed or
    written (``details["skipped"]``, same ``table_version``). Inputs are read at exactly the
    planned versions. A failed publish stays planned, so the next run retries it.
    """
    target = target_of(config, spec.name, spec.name)
    result = LayerResult(spec.name, GOLD)
    store = StateDir(config.storage.checkpoint(GOLD, spec.name))
    try:
        versions, views = _input_versions(spark, spec, config)
        current = delta.table_version(spark, target.path)
        plan = _plan(store, current, versions, _fingerprint(spec), spec.refresh == "partitions")
        if plan is None:
            result.table_version = current
            result.details = {"skipped": SKIP_REASON}
            return result
        working()
        if "before" not in plan:
            plan["before"] = {
                target.path: current,
                target.quarantine_path: delta.table_version(spark, target.quarantine_path),
            }
            store.write(STATE, {**store.read(STATE, {}), "plan": plan})
        chosen = touched(spark, spec, views, plan["since"], plan["inputs"]) if plan.get("since") else None
        _register_inputs(spark, views, plan["inputs"])
        result.details["versions_read"] = {key: [v, v] for key, v in plan["inputs"].items()}
        result.details["refresh"] = {"partitions": chosen[1]} if chosen is not None else "full"
        get_logger("lakehouse.gold").info(
            "derived refresh", partitions=chosen[1] if chosen is not None else "all"
        )
        gold = GoldSpec(
            table=spec.name,
            mode=spec.mode,
            keys=spec.keys,
            partition_by=spec.partition_by,
            expectations=spec.expectations,
        )
        txn = (f"lakehouse-derived-{store.identity()}", int(plan["n"]))
        # Read as a subquery: Spark itself refuses anything but one query (no DROP, no INSERT).
        where = chosen[0] if chosen is not None else None
        if where != NOTHING:  # NOTHING: the changes reach no output row; the table stays
            query = spark.sql(
                f"SELECT * FROM (\n{spec.sql}\n) AS _lakehouse_derived" + (f" WHERE {where}" if where else "")
            )
            outcome = publish_batch(
                spark, query, gold, target, ctx, txn=txn, before=plan["before"], replace_where=where
            )
            add_outcome(result, outcome)
        last = {**plan, "table_version": delta.table_version(spark, target.path), "run_id": ctx.run_id}
        store.write(STATE, {"n": plan["n"], "plan": None, "last": last})
    except Exception as exc:
        error = as_lakehouse_error(exc, spec.name)
        raise error.with_result(failed(spark, result, target.path, error)) from error.__cause__
    return finish(spark, result, target.path)
