"""Conservation, checked on every run: in silver, rows read = rows written + rows quarantined;
in gold, rows staged = rows dropped + rows the write took. A row silently lost fails the layer
with the numbers; after the fix, a backfill of the range puts the row where it belongs."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import pytest

from lakehouse.config import load_config
from lakehouse.gold import wap
from lakehouse.ledger import read_ledger
from lakehouse.pipeline import run_pipeline
from lakehouse.silver import batch


def test_a_row_lost_in_silver_fails_the_layer_and_a_backfill_recovers_it(
    spark, tmp_path: Path, plant: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = load_config(plant(), None)
    real_route = batch.route

    def lossy(*args, **kwargs):  # the injected bug: s-3 silently disappears
        routed = real_route(*args, **kwargs)
        return dataclasses.replace(routed, valid=routed.valid.where("sensor <> 's-3'"))

    monkeypatch.setattr(batch, "route", lossy)
    summary = run_pipeline(spark, config, datasets=["readings"])
    silver = next(r for r in summary.results if r.layer == "silver")
    assert silver.status == "failed" and summary.status == "failed"
    bronze_version = max(int(p.stem) for p in (tmp_path / "lake/bronze/readings/_delta_log").glob("*.json"))
    assert (
        f"silver read 3 rows from bronze versions 0..{bronze_version} and wrote 1 to silver and 1 to the "
        "quarantine: 1 row(s) unaccounted for"
    ) in str(silver.error)
    event = read_ledger(spark, config).where("dataset = 'readings' AND layer = 'silver'").first()
    assert (event["status"], event["error_class"]) == ("failed", "ConservationError")
    # Until the cause is fixed, every run stops at the planned range again.
    again = run_pipeline(spark, config, datasets=["readings"])
    assert "1 row(s) unaccounted for" in str(next(r for r in again.results if r.layer == "silver").error)

    monkeypatch.setattr(batch, "route", real_route)  # the fix
    from lakehouse.backfill import backfill

    fixed = backfill(spark, config, "readings", from_version=0)
    silver = next(r for r in fixed.results if r.layer == "silver")
    assert silver.status == "succeeded", silver.error
    assert (silver.rows_read, silver.rows_written, silver.rows_quarantined) == (3, 2, 1)
    rows = spark.read.format("delta").load(str(tmp_path / "lake/silver/readings")).collect()
    assert sorted((r["sensor"], r["value"]) for r in rows) == [("s-1", 1.5), ("s-3", 2.5)]
    assert spark.read.format("delta").load(str(tmp_path / "lake/silver/readings_quarantine")).count() == 1


def test_a_row_lost_before_the_gold_merge_fails_the_layer(
    spark, tmp_path: Path, plant: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = load_config(plant("gold: {table: readings, mode: merge, keys: [sensor]}\n"), None)
    real_split = wap.quarantine.split_gold

    def lossy(staged):  # the injected bug: one kept row silently disappears before the merge
        kept, dropped = real_split(staged)
        return kept.where("sensor <> 's-3'"), dropped

    monkeypatch.setattr(wap.quarantine, "split_gold", lossy)
    summary = run_pipeline(spark, config, datasets=["readings"])
    gold = next(r for r in summary.results if r.layer == "gold")
    assert gold.status == "failed"
    assert "gold readings: 2 rows were staged and not dropped, but the write to " in str(gold.error)
    assert "took 1: 1 row(s) lost on the way" in str(gold.error)
    event = read_ledger(spark, config).where("dataset = 'readings' AND layer = 'gold'").first()
    assert event["error_class"] == "ConservationError"
