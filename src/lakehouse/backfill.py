"""``lakehouse backfill``: silver and gold of one dataset again, from a bronze version on.

The bronze rows stay as they are (no file is ingested again). Under the run lock, silver's
state is rewound to the version before ``--from-version`` (or the first bronze commit at or
after ``--since``) as a new writer; silver then takes out the rows it wrote from those versions,
valid and quarantined (:mod:`lakehouse.silver.backfill`), and reads them again with the
current contract; gold publishes what silver wrote as it publishes any batch, and the derived
tables built on the dataset are recomputed. Running the same backfill twice gives the same
tables: the second takes out what the first wrote and writes it again.

A silver range that a failed run left planned (a quarantine rate over the limit, a row lost
on the way: :class:`~lakehouse.errors.ConservationError`) is part of what a backfill can take:
what that run wrote from it is taken out with the rest.

Refused, with the reason, before anything is written: a dataset without a contract, a gold
table published with ``mode: append`` (its rows would be appended twice), and a version silver
has not read or planned yet.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING

from lakehouse.constants import GOLD, SILVER
from lakehouse.errors import LakehouseError
from lakehouse.io import delta
from lakehouse.io.increments import RangeState
from lakehouse.log import get_logger

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from lakehouse.config.model import DatasetConfig, PipelineConfig
    from lakehouse.results import RunSummary


class BackfillError(LakehouseError):
    """A backfill that cannot run as asked (nothing has been written)."""


def check_dataset(config: PipelineConfig, name: str) -> DatasetConfig:
    """The dataset, when a backfill of it can run (raises :class:`BackfillError` otherwise)."""
    dataset = config.dataset(name)
    if dataset.contract is None:
        raise BackfillError(f"dataset {name!r} has no contract, so no silver layer to backfill")
    if dataset.gold is not None and dataset.gold.mode == "append":
        raise BackfillError(
            f"dataset {name!r} publishes gold with mode append: a backfill would append the "
            "range's rows to gold a second time (use merge, scd2 or overwrite_partitions)"
        )
    return dataset


def first_version_since(spark: SparkSession, table: str, since: datetime) -> int | None:
    """The first version of the table committed at or after ``since`` (None: none is)."""
    moment = since if since.tzinfo else since.replace(tzinfo=timezone.utc)
    cutoff = int(moment.timestamp() * 1000)
    later = [c.version for c in delta.history(spark, table) if (c.timestamp_ms or 0) >= cutoff]
    return min(later) if later else None


def rewind_silver(
    spark: SparkSession,
    config: PipelineConfig,
    dataset: DatasetConfig,
    *,
    from_version: int | None = None,
    since: datetime | None = None,
) -> tuple[int, int]:
    """Point silver's state back at the bronze versions to read again; returns their range."""
    state = RangeState(config.storage.checkpoint(SILVER, dataset.name))
    consumed, planned = state.consumed(), state.planned()
    # A range a failed run planned counts as read: that run may have written part of it.
    last = max(-1 if consumed is None else consumed, -1 if planned is None else planned.end)
    name = dataset.name
    if last < 0:
        raise BackfillError(f"silver of {name!r} has not read bronze yet: nothing to backfill")
    if since is not None:
        from_version = first_version_since(spark, dataset.bronze_path, since)
        if from_version is None or from_version > last:
            raise BackfillError(
                f"no bronze version of {name!r} that silver read was committed at or after "
                f"{since.isoformat()} (silver read up to version {last})"
            )
    if from_version is None or from_version < 0 or from_version > last:
        raise BackfillError(
            f"bronze version {from_version} of {name!r} is not one silver read: silver read "
            f"versions 0 to {last}; a later version is read by the next run"
        )
    state.rewind(from_version, last)
    get_logger("lakehouse.backfill").info(
        "backfill planned", dataset=name, bronze_versions=f"{from_version}..{last}"
    )
    return from_version, last


def backfill(
    spark: SparkSession,
    config: PipelineConfig,
    name: str,
    *,
    from_version: int | None = None,
    since: datetime | None = None,
    wait: float | None = None,
) -> RunSummary:
    """Run silver, gold and the derived tables on the dataset again from a bronze version."""
    from lakehouse.pipeline import run_pipeline

    dataset = check_dataset(config, name)
    if (from_version is None) == (since is None):
        raise BackfillError("give exactly one of from_version and since")
    layers = [SILVER] + ([GOLD] if dataset.gold is not None else [])
    derived = [d.name for d in config.derived if name in d.inputs]

    def prepare() -> None:
        rewind_silver(spark, config, dataset, from_version=from_version, since=since)

    return run_pipeline(spark, config, only={name: layers}, derived=derived, wait=wait, prepare=prepare)
