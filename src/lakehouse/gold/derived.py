"""Derived gold tables: Spark SQL over other datasets' gold and silver tables.

``publish_derived`` records the Delta versions of its inputs in its commit's ``userMetadata``
and skips the whole computation when they (and the definition) did not change since.
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
from lakehouse.gold.runner import add_outcome, as_lakehouse_error, failed, finish, target_of
from lakehouse.gold.wap import publish_batch
from lakehouse.io import delta
from lakehouse.results import LayerResult, RunContext

if TYPE_CHECKING:
    from lakehouse.config.model import PipelineConfig

SKIP_REASON = "inputs unchanged"
_METADATA_KEY = "lakehouse_derived"


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


def _last_publish(spark: SparkSession, path: str) -> tuple[int | None, dict[str, Any] | None]:
    """The derived table's version and the inputs recorded by its latest commit (if ours)."""
    latest = delta.latest_commit(spark, path)
    if latest is None:
        return None, None
    version, metadata = latest.version, latest.user_metadata
    try:
        recorded = json.loads(metadata) if metadata else None
    except ValueError:
        recorded = None
    if not isinstance(recorded, dict) or not isinstance(recorded.get(_METADATA_KEY), dict):
        return version, None
    return version, recorded[_METADATA_KEY]


def publish_derived(
    spark: SparkSession, spec: DerivedSpec, config: PipelineConfig, ctx: RunContext
) -> LayerResult:
    """Compute a derived gold table with Spark SQL over ``gold_<table>``/``silver_<dataset>`` views.

    Expectations are audited on the SQL result before the table is written with ``spec.mode``.
    The commit records the Delta version of every input (and a hash of ``spec``) as its
    ``userMetadata``; when the table's latest commit recorded the same versions and hash, nothing
    is computed or written (``details["skipped"]``, same ``table_version``). Inputs are read at
    exactly the recorded versions. A failed publish commits nothing, so the next run retries.
    """
    target = target_of(config, spec.name, spec.name)
    result = LayerResult(spec.name, GOLD)
    fingerprint = _fingerprint(spec)
    try:
        versions, views = _input_versions(spark, spec, config)
        version, recorded = _last_publish(spark, target.path)
        if recorded and recorded.get("inputs") == versions and recorded.get("spec") == fingerprint:
            result.table_version = version
            result.details = {"skipped": SKIP_REASON}
            return result
        _register_inputs(spark, views, versions)
        gold = GoldSpec(
            table=spec.name,
            mode=spec.mode,
            keys=spec.keys,
            partition_by=spec.partition_by,
            expectations=spec.expectations,
        )
        metadata = json.dumps(
            {_METADATA_KEY: {"inputs": versions, "spec": fingerprint, "run_id": ctx.run_id}}, sort_keys=True
        )
        # Read as a subquery: Spark itself refuses anything but one query (no DROP, no INSERT).
        query = spark.sql(f"SELECT * FROM (\n{spec.sql}\n) AS _lakehouse_derived")
        add_outcome(result, publish_batch(spark, query, gold, target, ctx, metadata=metadata))
    except Exception as exc:
        error = as_lakehouse_error(exc, spec.name)
        raise error.with_result(failed(spark, result, target.path, error)) from error.__cause__
    return finish(spark, result, target.path)
