"""`lakehouse quarantine replay`: after a contract fix, the quarantined rows with a reason go
through the current contract again; the rows that pass reach silver and gold, the others stay
with their new reasons, and no row is replayed twice."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from chispa import assert_df_equality

from lakehouse.cli import main
from lakehouse.config import load_config
from lakehouse.ledger import read_ledger

GOLD = """
gold:
  table: readings
  mode: merge
  keys: [sensor]
"""


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main([*args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _quarantined(spark, lake: Path) -> Counter[tuple[str, str, bool]]:
    """(sensor, reasons' rules, replayed) of every silver quarantine row."""
    frame = spark.read.format("delta").load(str(lake / "silver/readings_quarantine"))
    replayed = "_replay_id" in frame.columns
    rows = frame.collect()
    return Counter(
        (
            json.loads(r["_raw"])["sensor"],
            ",".join(sorted(x["rule"] for x in r["_reasons"])),
            replayed and r["_replay_id"] is not None,
        )
        for r in rows
    )


def test_replay_after_a_contract_fix_moves_exactly_the_rows_that_now_pass(
    spark, tmp_path: Path, plant: Callable[..., Path], capsys
) -> None:
    pipeline = plant(GOLD)
    pipeline.write_text(
        pipeline.read_text().replace("{name: value, type: double}", "{name: value, type: double, max: 3}")
    )
    conf = ["--config", str(pipeline), "--env", ""]
    lake = tmp_path / "lake"
    (tmp_path / "landing" / "readings" / "r2.csv").write_text("sensor,value\ns-4,9.5\ns-5,7.0\ns-6,xyz\n")
    assert _cli(capsys, "run", *conf, "--dataset", "readings")[0] == 0
    assert _quarantined(spark, lake) == Counter(
        {
            ("s-2", "cast", False): 1,
            ("s-6", "cast", False): 1,
            ("s-4", "max", False): 1,
            ("s-5", "max", False): 1,
        }
    )
    bronze_versions = len(list((lake / "bronze/readings/_delta_log").glob("*.json")))

    # The fix lets 7.0 through, not 9.5; only the rows quarantined by `max` are replayed.
    pipeline.write_text(pipeline.read_text().replace("max: 3}", "max: 8}"))
    code, out, err = _cli(
        capsys, "quarantine", "replay", *conf, "--dataset", "readings", "--reason", "max", "--json"
    )
    assert code == 0, out + err
    assert (
        "quarantine replay 1 of readings: 2 row(s) replayed: 1 to silver, 1 still quarantined (with their "
        "new reasons), 0 not found in bronze (erased)"
    ) in out
    silver = json.loads(out.strip().splitlines()[-1])["datasets"]["readings"]["silver"]
    assert (silver["rows_read"], silver["rows_written"], silver["rows_quarantined"]) == (2, 1, 1)
    assert _quarantined(spark, lake) == Counter(
        {
            ("s-2", "cast", False): 1, ("s-6", "cast", False): 1,  # another reason: not replayed
            ("s-4", "max", True): 1, ("s-5", "max", True): 1,  # replayed, marked
            ("s-4", "max", False): 1,  # still over the bound: quarantined again, with its new reason
        }
    )  # fmt: skip
    new = (
        spark.read.format("delta").load(str(lake / "silver/readings_quarantine")).where("_replay_id IS NULL")
    )
    (again,) = [r for r in new.collect() if json.loads(r["_raw"])["sensor"] == "s-4"]
    # the new reason names the bound of the fixed contract
    assert [(x["rule"], x["message"], x["value"]) for x in again["_reasons"]] == [
        ("max", "above the maximum 8", "9.5")
    ]
    expected = spark.createDataFrame(
        [("s-1", 1.5), ("s-3", 2.5), ("s-5", 7.0)], "sensor string, value double"
    )
    gold = spark.read.format("delta").load(str(lake / "gold/readings")).select("sensor", "value")
    assert_df_equality(gold, expected, ignore_row_order=True, ignore_nullable=True)
    assert len(list((lake / "bronze/readings/_delta_log").glob("*.json"))) == bronze_versions  # no re-ingest

    # `quarantine show` counts the rows not replayed yet.
    code, out, _ = _cli(capsys, "quarantine", "show", *conf, "--dataset", "readings", "--json")
    (silver_q, _gold_q) = json.loads(out)["tables"]
    assert (silver_q["rows"], silver_q["replayed"]) == (3, 2)

    # The same replay again: only the row quarantined again is taken; s-5 is never replayed twice.
    code, out, err = _cli(capsys, "quarantine", "replay", *conf, "--dataset", "readings", "--reason", "max")
    assert code == 0, out + err
    assert "quarantine replay 2 of readings: 1 row(s) replayed: 0 to silver, 1 still quarantined" in out
    sensors = [r["sensor"] for r in spark.read.format("delta").load(str(lake / "silver/readings")).collect()]
    assert sorted(sensors) == ["s-1", "s-3", "s-5"]
    assert (
        _quarantined(spark, lake)[("s-4", "max", True)] == 2
        and _quarantined(spark, lake)[("s-4", "max", False)] == 1
    )

    # The ledger has the replay as the silver layer's work of its run.
    config = load_config(pipeline, None)
    events = read_ledger(spark, config).where("dataset = 'readings' AND layer = 'silver'").orderBy("event_at")
    last = events.collect()[-1]
    assert (last["status"], last["rows_read"], last["rows_written"], last["rows_quarantined"]) == (
        "succeeded",
        1,
        0,
        1,
    )
