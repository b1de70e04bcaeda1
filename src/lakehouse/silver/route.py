"""Route bronze rows to silver or to the quarantine: the pure core of a silver batch.

:func:`route` conforms a batch to the contract, protects PII in the raw values the quarantine
keeps, evaluates every check in one pass, and returns the silver rows and the quarantine rows
as plans. The silver runner (and the tests) call this one function; counting, the quarantine
rate policy and the writes stay with the runner.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pyspark.sql import DataFrame
from pyspark.sql import functions as F  # noqa: N812

from lakehouse.constants import INGESTED_AT, RESCUED_DATA, RUN_ID, SOURCE_FILE
from lakehouse.silver.checks import with_duplicate_keys, with_reasons
from lakehouse.silver.drift import Drift, evolved, failures
from lakehouse.silver.pii import raw_value_protection, silver_column, with_protected_raw
from lakehouse.transforms import quarantine
from lakehouse.transforms.conform import CLEAN, RAW, to_conformed
from lakehouse.transforms.quarantine import REASONS

if TYPE_CHECKING:
    from lakehouse.config.contract import Contract


@dataclass(frozen=True)
class Routed:
    """One batch routed: ``checked`` holds every row with its ``_reasons`` (count from it);
    ``valid`` and ``rejected`` are the rows to write to silver and to its quarantine."""

    checked: DataFrame
    valid: DataFrame
    rejected: DataFrame


def checked_rows(
    bronze: DataFrame, contract: Contract, salt: str | None, drift: Drift | None = None
) -> DataFrame:
    """Bronze rows conformed, PII-protected in their raw values, with ``_reasons`` (drift
    reasons for the rows of files the contract quarantines, see :mod:`lakehouse.silver.drift`)."""
    return (
        bronze.transform(to_conformed, contract, raw_value_protection(contract, salt))
        .transform(with_protected_raw, contract, salt)
        .transform(with_reasons, contract, extra=failures(drift or {}, contract))
        .transform(with_duplicate_keys, contract)
    )


def to_silver(
    valid: DataFrame, contract: Contract, run_id: str, salt: str | None, evolve: list[str] | None = None
) -> DataFrame:
    """Contract columns (PII protected, ``drop`` removed), new columns carried as strings
    (``evolve``, values as landed), then the lineage columns."""
    protected = contract.pii_at == "bronze"
    columns = [c for c in (silver_column(s, salt, protected) for s in contract.columns) if c is not None]
    columns += [F.col(RAW).getItem(name).alias(name) for name in evolve or []]
    lineage = [F.col(SOURCE_FILE), F.col(INGESTED_AT), F.lit(run_id).alias(RUN_ID)]
    if contract.rescued_data == "flag":
        lineage.append(F.col(RESCUED_DATA))
    return valid.select(*columns, *lineage)


def _lean(checked: DataFrame, *, keep_raw: bool) -> DataFrame:
    """Only what the two writes read: the cleaned strings dropped (the checks are done) and
    the raw values kept for quarantined rows only (and for all rows when silver takes new
    columns from them). The batch is cached for the writes; a narrower row caches faster."""
    lean = checked.drop(CLEAN)
    if keep_raw:
        return lean
    return lean.withColumn(RAW, F.when(F.size(REASONS) > 0, F.col(RAW)))


def route(
    bronze: DataFrame, contract: Contract, *, run_id: str, salt: str | None, drift: Drift | None = None
) -> Routed:
    """Split a bronze batch into silver rows and quarantine rows (each input row lands once)."""
    evolve = evolved(drift or {}, contract)
    checked = _lean(checked_rows(bronze, contract, salt, drift), keep_raw=bool(evolve))
    valid, rejected = quarantine.split_silver(checked)
    return Routed(
        checked=checked,
        valid=to_silver(valid, contract, run_id, salt, evolve),
        rejected=quarantine.silver_rows(rejected, run_id),
    )
