"""Erase one person's rows from every layer (GDPR art. 17): ``lakehouse forget``.

The rows of a dataset whose column holds one of the given values are deleted from bronze,
silver, the silver quarantine (raw values kept as JSON there), the gold table (SCD2 history
included), the gold quarantine and every derived table that has the column. A value is
matched in the form each table stores it: as landed in bronze (the column's source name),
typed in silver and gold, and as its salted SHA-256 where the contract hashes the column
(``pii: hash``). Each table's rows go in one SQL ``DELETE FROM`` (a classic and a Spark
Connect session alike; values enter the SQL text only as hex), and the commit is marked as
an erasure: the table property ``lakehouse.erasure.v<version>`` (any session can set it) and,
where the session lets it be set, ``userMetadata`` starting with :data:`ERASURE_MARKER`. The
layers reading the table incrementally skip a commit so marked. Then every table
that lost rows is vacuumed, so older versions' data files holding the rows are removed too
(``retain_hours`` below Delta's 168 h needs the session's retention check off). It holds
the pipeline's run lock meanwhile, so no run writes rows it read before the erasure.

An audit row goes to ``<root>/_lakehouse_erasures``: who, when, the dataset and column, how
many values, rows per table, and a fingerprint of the values (their SHA-256 with the
contract's PII salt, only when the contract has one) but never a value.
"""

from __future__ import annotations

import getpass
import hashlib
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from lakehouse.config.names import quote, sql_text
from lakehouse.constants import GOLD, QUARANTINE_SUFFIX
from lakehouse.errors import ConfigError
from lakehouse.io import delta
from lakehouse.io.increments import ERASURE_MARKER, ERASURE_PROPERTY
from lakehouse.io.lease import acquire
from lakehouse.io.rows import local_frame
from lakehouse.log import get_logger

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from lakehouse.config.contract import ColumnSpec
    from lakehouse.config.model import DatasetConfig, PipelineConfig

RETENTION_CHECK = "spark.databricks.delta.retentionDurationCheck.enabled"
DEFAULT_RETAIN_HOURS = 168.0
_WHERE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*'((?:[^']|'')*)'\s*$")
AUDIT_SCHEMA = (
    "erasure_id string, erased_at timestamp, erased_by string, pipeline string, dataset string, "
    "column string, values_count int, values_fingerprint array<string>, rows map<string,bigint>, "
    "untraceable array<string>, retain_hours double"
)


@dataclass
class Erasure:
    """What ``forget`` did: rows deleted per table path, tables without the column."""

    erasure_id: str
    dataset: str
    column: str
    rows: dict[str, int] = field(default_factory=dict)
    untraceable: list[str] = field(default_factory=list)
    vacuumed: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (no erased value)."""
        return {
            "erasure_id": self.erasure_id,
            "dataset": self.dataset,
            "column": self.column,
            "rows": self.rows,
            "rows_total": sum(self.rows.values()),
            "untraceable": self.untraceable,
            "vacuumed": self.vacuumed,
        }


def parse_where(text: str) -> tuple[str, str]:
    """``"owner_email = 'a@b.c'"`` -> ``("owner_email", "a@b.c")``; nothing else is accepted."""
    match = _WHERE.match(text)
    if not match:
        raise ConfigError(
            f"--where {text!r} is not of the form <column> = '<value>' "
            "(one column, one quoted value; use --keys-file for several values)"
        )
    return match.group(1), match.group(2).replace("''", "'")


def _spec(dataset: DatasetConfig, column: str) -> ColumnSpec | None:
    if dataset.contract is None:
        return None
    for spec in dataset.contract.columns:
        if spec.name.lower() == column.lower() or spec.source_name.lower() == column.lower():
            return spec
    return None


def _forms(values: Sequence[str], spec: ColumnSpec | None, salt: str | None) -> tuple[list[str], list[str]]:
    """(the values as given, their protected forms) for matching."""
    hashed = []
    if spec is not None and spec.pii == "hash" and salt is not None:
        hashed = [hashlib.sha256((salt + v).encode("utf-8")).hexdigest() for v in values]
    return list(values), hashed


def _in(expression: str, candidates: list[str]) -> str:
    return f"{expression} IN ({', '.join(sql_text(c) for c in candidates)})"


def _column_match(name: str, candidates: list[str]) -> str:
    text = f"CAST({quote(name)} AS STRING)"
    return f"({_in(text, candidates)} OR {_in(f'trim({text})', candidates)})"


def _raw_match(source_name: str, candidates: list[str]) -> str:
    """A quarantine row whose raw JSON holds one of the candidates under the column's source name."""
    entry = f"lower(e.key) = {sql_text(source_name.lower())} AND {_in('trim(e.value)', candidates)}"
    return f"exists(map_entries(from_json(`_raw`, 'map<string,string>')), e -> {entry})"


def _mark_session(spark: SparkSession, marker: str | None) -> bool:
    """Set the session's commit ``userMetadata`` (None: unset it); False where it is refused."""
    if delta.set_commit_metadata(spark, marker):
        return True
    get_logger("lakehouse.forget").info("commit userMetadata not settable")
    return False


def _delete(spark: SparkSession, path: str, condition: str, marker: str) -> int:
    """DELETE the matching rows in one commit, marked as an erasure; the rows it deleted."""
    table = delta.ident(path)
    before = delta.table_version(spark, path)
    marked = _mark_session(spark, marker)
    try:
        spark.sql(f"DELETE FROM {table} WHERE {condition}").collect()
    finally:
        if marked:
            _mark_session(spark, None)
    commit = delta.latest_commit(spark, path)
    if commit is None or commit.version == before or commit.operation != "DELETE":
        return 0  # nothing matched: Delta made no commit
    spark.sql(f"ALTER TABLE {table} SET TBLPROPERTIES ('{ERASURE_PROPERTY}{commit.version}' = '{marker}')")
    return int(commit.metrics.get("numDeletedRows", 0))


def _columns(spark: SparkSession, path: str) -> set[str] | None:
    if not delta.table_exists(spark, path):
        return None
    return {f.name.lower() for f in delta.read_table(spark, path).schema.fields}


def _targets(config: PipelineConfig, dataset: DatasetConfig) -> list[tuple[str, str]]:
    """(what, path) of every table the dataset's rows can be in, bronze first."""
    out = [("bronze", dataset.bronze_path), ("silver", dataset.silver_path)]
    out.append(("silver quarantine", dataset.quarantine_path))
    if dataset.gold is not None:
        gold = config.storage.table(GOLD, dataset.gold.table)
        quarantine = config.storage.table(GOLD, f"{dataset.gold.table}{QUARANTINE_SUFFIX}")
        out += [("gold", gold), ("gold quarantine", quarantine)]
    for spec in config.derived:
        if dataset.name in spec.inputs:
            out.append((f"derived {spec.name}", config.storage.table(GOLD, spec.name)))
    return out


def _condition(
    what: str, names: set[str], spec: ColumnSpec | None, column: str, forms: tuple[list[str], list[str]]
) -> str | None:
    """How ``what`` holds the column: None when the table has no such column (untraceable).

    Bronze and the silver quarantine keep values as landed (under the source name), or their
    hash where the contract protects them there; silver, gold and derived tables keep the
    typed value, or only its hash for a ``pii: hash`` column.
    """
    given, hashed = forms
    source = spec.source_name if spec is not None else column
    if what == "silver quarantine":
        return _raw_match(source, given + hashed) if "_raw" in names else None
    if what == "bronze":
        return _column_match(source, given + hashed) if source.lower() in names else None
    name = spec.name if spec is not None else column
    return _column_match(name, hashed or given) if name.lower() in names else None


def _purge(spark: SparkSession, path: str, retain_hours: float) -> None:
    """Rewrite files that only hide deleted rows (deletion vectors), then vacuum old files."""
    table = delta.ident(path)
    if delta.properties(spark, path).get("delta.enableDeletionVectors", "false").lower() == "true":
        spark.sql(f"REORG TABLE {table} APPLY (PURGE)")
    spark.sql(f"VACUUM {table} RETAIN {retain_hours:g} HOURS")


def check_retention(spark: SparkSession, retain_hours: float) -> None:
    """Refuse a retention below Delta's safety check before anything is deleted."""
    enabled = str(spark.conf.get(RETENTION_CHECK, "true")).lower() != "false"
    if retain_hours < DEFAULT_RETAIN_HOURS and enabled:
        raise ConfigError(
            f"retain_hours {retain_hours:g} is below Delta's {DEFAULT_RETAIN_HOURS:g} h: set "
            f"{RETENTION_CHECK}=false on the session (and stop readers of older versions first; "
            "see docs/security.md)"
        )


def forget(
    spark: SparkSession,
    config: PipelineConfig,
    dataset_name: str,
    column: str,
    values: Iterable[str],
    *,
    retain_hours: float = DEFAULT_RETAIN_HOURS,
    erased_by: str | None = None,
) -> Erasure:
    """Delete the dataset's rows whose ``column`` is one of ``values`` everywhere, vacuum, audit."""
    from lakehouse.silver.runner import _salt

    dataset = config.dataset(dataset_name)
    wanted = sorted({v for v in values if v != ""})
    if not wanted:
        raise ConfigError("no value to forget (an empty --where value or keys file)")
    spec = _spec(dataset, column)
    if spec is None and dataset.contract is not None:
        raise ConfigError(f"dataset {dataset_name!r} has no column {column!r} in its contract")
    if spec is not None and spec.pii in ("mask", "drop"):
        raise ConfigError(
            f"column {column!r} is pii: {spec.pii}, so silver and gold do not hold its value; "
            "forget by another column that identifies the person (e.g. the key)"
        )
    check_retention(spark, retain_hours)
    salt = _salt(dataset.contract) if dataset.contract is not None else None
    forms = _forms(wanted, spec, salt)
    erasure = Erasure(uuid.uuid4().hex, dataset_name, spec.name if spec is not None else column)
    # A run going on meanwhile could write rows it read before the DELETE: hold the run lock.
    lease = None
    if config.run_lock.enabled:
        lease = acquire(
            spark,
            config.storage.locks,
            config.name,
            f"forget-{erasure.erasure_id}",
            duration_s=config.run_lock.lease_seconds,
            wait_s=config.run_lock.wait_seconds,
        )
    try:
        _erase(spark, config, dataset, erasure, spec, column, forms, retain_hours)
    finally:
        if lease is not None:
            lease.release()
    _audit(spark, config, erasure, forms, retain_hours, erased_by or getpass.getuser())
    get_logger("lakehouse.forget").info("erased", rows=erasure.rows, untraceable=erasure.untraceable)
    return erasure


def _erase(
    spark: SparkSession,
    config: PipelineConfig,
    dataset: DatasetConfig,
    erasure: Erasure,
    spec: ColumnSpec | None,
    column: str,
    forms: tuple[list[str], list[str]],
    retain_hours: float,
) -> None:
    """Delete from every table of the dataset, then purge and vacuum the ones that lost rows."""
    marker = f"{ERASURE_MARKER} {erasure.erasure_id}"
    log = get_logger("lakehouse.forget")
    for what, path in _targets(config, dataset):
        names = _columns(spark, path)
        if names is None:
            continue
        condition = _condition(what, names, spec, column, forms)
        if condition is None:
            erasure.untraceable.append(path)
            log.warning("table has no such column; nothing erased there", table=path, column=column)
            continue
        erasure.rows[path] = _delete(spark, path, condition, marker)
    for path, count in erasure.rows.items():
        if count:
            _purge(spark, path, retain_hours)
            erasure.vacuumed.append(path)


def _audit(
    spark: SparkSession,
    config: PipelineConfig,
    erasure: Erasure,
    forms: tuple[list[str], list[str]],
    retain_hours: float,
    erased_by: str,
) -> None:
    """One audit row; the values appear only as their salted hashes (when there is a salt)."""
    row = (
        erasure.erasure_id,
        datetime.now(timezone.utc),
        erased_by,
        config.name,
        erasure.dataset,
        erasure.column,
        len(forms[0]),
        forms[1],
        erasure.rows,
        erasure.untraceable,
        float(retain_hours),
    )
    frame = local_frame(spark, [row], AUDIT_SCHEMA)
    delta.append(spark, frame, config.storage.erasures)
