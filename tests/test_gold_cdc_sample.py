"""The customers change feed of the samples through conf/pipelines/customers.yml, day by day.

Expected gold is derived from the landed files in plain Python (``lakehouse.testing``'s
``expected_customers_scd1`` / ``_scd2``, no Spark and no lakehouse code), as docs/gold.md states
the semantics; the planted cases of ``MANIFEST.json`` (``cdc_cases``) are checked to be
covered by that derivation, so the expected tables are not a snapshot of a run.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from chispa import assert_df_equality

from lakehouse import testing
from lakehouse.config.model import PipelineConfig, load_config
from lakehouse.io.delta import read_table
from lakehouse.ledger import read_ledger
from lakehouse.pipeline import run_pipeline
from lakehouse.results import RunSummary

DAYS = ("2026-11-01", "2026-11-02")
SCD1 = (
    "op string, changed_at timestamp, change_seq long, customer_id string, name string, city string, "
    "plan string"
)
SCD2 = SCD1 + ", valid_from timestamp, valid_to timestamp, is_current boolean"
TABLES = ("customers", "customers_tombstones", "customers_history", "customers_history_tombstones")
pytestmark = pytest.mark.slow  # the whole pipeline, four runs


class Feed:
    """The customers pipeline on a scratch root; days are landed one at a time."""

    def __init__(self, spark: Any, root: Path, samples: Path, pipeline: Path) -> None:
        self.spark, self.root, self.samples = spark, root, samples
        self.landing = root / "landing"
        overrides = {"storage": {"root": str(root / "lake"), "landing": str(self.landing)}}
        self.config: PipelineConfig = load_config(pipeline, env=None, overrides=overrides)
        self.batches: list[list[dict[str, Any]]] = []
        self.runs: list[RunSummary] = []

    def land(self, day: str, suffix: str = "") -> None:
        for entry in testing.manifest(self.samples)["files"]:
            if entry["dataset"] == "customers" and entry["day"] == day:
                name = Path(entry["path"]).name.replace(".csv", f"{suffix}.csv")
                target = self.landing / "customers" / day / name
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(self.samples / entry["path"], target)
        self.batches.append(testing.customer_changes(day, self.samples))

    def run(self) -> RunSummary:
        summary = run_pipeline(self.spark, self.config, run_id=f"run-{len(self.runs) + 1}")
        assert summary.status == "succeeded", summary.to_dict()
        self.runs.append(summary)
        return summary

    def path(self, table: str) -> str:
        return self.config.storage.table("gold", table)

    def versions(self) -> dict[str, int | None]:
        return testing.delta_versions(self.spark, {t: self.path(t) for t in TABLES})


@pytest.fixture(scope="module")
def feed(spark, samples, repo_root, tmp_path_factory) -> Iterator[Feed]:
    yield Feed(
        spark, tmp_path_factory.mktemp("customers"), samples, repo_root / "conf/pipelines/customers.yml"
    )


def _scd1_rows(rows: dict[str, dict[str, Any]]) -> list[tuple[Any, ...]]:
    cols = ("op", "changed_at", "change_seq", "customer_id", "name", "city", "plan")
    return [tuple(r[c] for c in cols) for r in rows.values()]


def _scd2_rows(versions: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    cols = (
        "op",
        "changed_at",
        "change_seq",
        "customer_id",
        "name",
        "city",
        "plan",
        "valid_from",
        "valid_to",
        "is_current",
    )
    return [tuple(v[c] for c in cols) for v in versions]


def _check_day(feed: Feed, summary: RunSummary) -> None:
    scd1, scd1_counts = testing.expected_customers_scd1(feed.batches)
    scd2, scd2_counts = testing.expected_customers_scd2(feed.batches)
    spark = feed.spark
    expected = spark.createDataFrame(_scd1_rows(scd1), SCD1).drop("op")
    assert_df_equality(
        read_table(spark, feed.path("customers")), expected, ignore_row_order=True, ignore_nullable=True
    )
    expected = spark.createDataFrame(_scd2_rows(scd2), SCD2).drop("op")
    assert_df_equality(
        read_table(spark, feed.path("customers_history")),
        expected,
        ignore_row_order=True,
        ignore_nullable=True,
    )
    for dataset, counts in (("customers", scd1_counts[-1]), ("customers_history", scd2_counts[-1])):
        gold = summary.result(dataset, "gold")
        assert gold is not None
        assert gold.details["cdc"] == counts
        assert gold.rows_read == len(feed.batches[-1]) == gold.rows_dropped + sum(counts.values())


def test_day_one(feed):
    feed.land(DAYS[0])
    _check_day(feed, feed.run())


def test_day_two_late_changes_and_a_delete_before_its_insert(feed):
    feed.land(DAYS[1])
    _check_day(feed, feed.run())
    customers = {r.customer_id for r in read_table(feed.spark, feed.path("customers")).collect()}
    history = read_table(feed.spark, feed.path("customers_history"))
    # every planted case is visible in the tables (and so covered by the derivation above)
    cases = {(c["case"], c["customer_id"]) for c in testing.manifest(feed.samples)["cdc_cases"]}
    assert {case for case, _ in cases} >= {
        "delete_before_insert",
        "late_update",
        "late_delete",
        "duplicate",
        "redelivered",
        "insert_after_delete",
        "no_op",
        "same_second",
        "several_in_batch",
    }
    assert "cus-0017" not in customers  # deleted before its insert arrived
    assert "cus-0010" not in customers and "cus-0005" in customers  # deleted / deleted, then back
    closed = history.where("customer_id = 'cus-0017'").collect()
    assert [(r.valid_to.hour, r.is_current) for r in closed] == [(16, False)]
    late = history.where("customer_id = 'cus-0002'").orderBy("valid_from").collect()
    assert [r.valid_from.strftime("%H:%M") for r in late] == ["08:14", "12:30", "13:00"]
    assert late[-1].is_current


def test_counts_add_up_in_the_run_ledger(feed):
    ledger = read_ledger(feed.spark, feed.config).where("layer = 'gold'").collect()
    assert len(ledger) == 4  # two datasets x two runs
    for row in ledger:
        assert row.counts is not None and set(row.counts) == {
            "inserted",
            "updated",
            "deleted",
            "stale",
            "duplicate",
            "no_op",
        }
        assert row.rows_read == row.rows_dropped + sum(row.counts.values())
    silver = read_ledger(feed.spark, feed.config).where("layer = 'silver'").collect()
    assert all(row.counts is None for row in silver)


def test_rerun_and_redelivered_files_change_no_gold_version(feed):
    before = feed.versions()
    again = feed.run()
    assert feed.versions() == before
    assert again.result("customers", "gold").rows_read == 0
    # the same two days delivered again under new file names: bronze and silver take them in,
    # gold sees only changes it already has
    feed.land(DAYS[0], "-again")
    feed.land(DAYS[1], "-again")
    redelivered = feed.run()
    assert feed.versions() == before
    for dataset in ("customers", "customers_history"):
        gold = redelivered.result(dataset, "gold")
        assert gold.rows_read == len(feed.batches[-1]) + len(feed.batches[-2])
        counts = gold.details["cdc"]
        assert counts["inserted"] == counts["updated"] == counts["deleted"] == 0, counts
        assert gold.rows_read == sum(counts.values())
