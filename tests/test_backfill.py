"""`lakehouse backfill`: silver and gold of a dataset again from a bronze version, after a
contract fix, without ingesting any file again; exactly the range's rows move, none twice."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import pytest
from chispa import assert_df_equality

from lakehouse.cli import main

GOLD = """
gold:
  table: readings
  mode: merge
  keys: [sensor]
"""


def _version(lake: Path, table: str) -> int:
    return max(int(p.stem) for p in (lake / table / "_delta_log").glob("*.json"))


def _rows(spark, path: Path, *columns: str) -> list[tuple[object, ...]]:
    return sorted(tuple(r) for r in spark.read.format("delta").load(str(path)).select(*columns).collect())


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main([*args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_backfill_after_a_contract_fix_moves_exactly_the_range_rows(
    spark, tmp_path: Path, plant: Callable[..., Path], capsys
) -> None:
    pipeline = plant(GOLD)
    # value at most 3: r2's s-4 (9.5) is quarantined until the contract is fixed.
    text = pipeline.read_text()
    pipeline.write_text(text.replace("{name: value, type: double}", "{name: value, type: double, max: 3}"))
    conf = ["--config", str(pipeline), "--env", ""]
    lake = tmp_path / "lake"
    assert _cli(capsys, "run", *conf, "--dataset", "readings")[0] == 0  # r1: s-1, s-2 (abc), s-3
    first_bronze = _version(lake, "bronze/readings")
    between = datetime.now(timezone.utc)
    time.sleep(1.1)  # commit times have millisecond precision; keep r2's clearly after
    (tmp_path / "landing" / "readings" / "r2.csv").write_text("sensor,value\ns-4,9.5\ns-1,1.75\n")
    assert _cli(capsys, "run", *conf, "--dataset", "readings")[0] == 0
    bronze_version = _version(lake, "bronze/readings")
    assert bronze_version > first_bronze
    quarantined = _rows(spark, lake / "silver/readings_quarantine", "_source_file")
    assert sorted(Path(f).name for (f,) in quarantined) == ["r1.csv", "r2.csv"]  # s-2 (abc), s-4 (9.5)
    assert _rows(spark, lake / "gold/readings", "sensor", "value") == [("s-1", 1.75), ("s-3", 2.5)]

    # A version silver has not read is refused before anything is written.
    silver_version = _version(lake, "silver/readings")
    code, _, err = _cli(
        capsys, "backfill", *conf, "--dataset", "readings", "--from-version", str(bronze_version + 1)
    )
    assert code == 1
    assert f"bronze version {bronze_version + 1} of 'readings' is not one silver read" in err
    assert _version(lake, "silver/readings") == silver_version

    # The fix: value at most 10. Backfill from r2's bronze version on.
    pipeline.write_text(pipeline.read_text().replace("max: 3}", "max: 10}"))
    code, out, err = _cli(
        capsys, "backfill", *conf, "--dataset", "readings", "--from-version", str(first_bronze + 1), "--json"
    )
    assert code == 0, out + err
    assert (
        f"backfill of readings: bronze versions {first_bronze + 1} to {bronze_version} read again; taken out "
        "of silver first: 1 rows, of its quarantine: 1 rows"
    ) in out
    summary = json.loads(out.strip().splitlines()[-1])
    assert {d: sorted(layers) for d, layers in summary["datasets"].items()} == {
        "readings": ["gold", "silver"]
    }
    assert summary["datasets"]["readings"]["silver"]["rows_read"] == 2
    assert summary["datasets"]["readings"]["silver"]["rows_written"] == 2
    assert summary["datasets"]["readings"]["silver"]["rows_quarantined"] == 0

    def check() -> None:
        assert _version(lake, "bronze/readings") == bronze_version  # no file ingested again
        silver = _rows(spark, lake / "silver/readings", "sensor", "value", "_source_file")
        assert [(s, v, Path(f).name) for s, v, f in silver] == [
            ("s-1", 1.5, "r1.csv"), ("s-1", 1.75, "r2.csv"), ("s-3", 2.5, "r1.csv"), ("s-4", 9.5, "r2.csv")
        ]  # fmt: skip
        quarantined = _rows(spark, lake / "silver/readings_quarantine", "_source_file")
        assert [Path(f).name for (f,) in quarantined] == ["r1.csv"]  # s-2 (abc) stays: r1 is not in the range
        expected = spark.createDataFrame(
            [("s-1", 1.75), ("s-3", 2.5), ("s-4", 9.5)], "sensor string, value double"
        )
        gold = spark.read.format("delta").load(str(lake / "gold/readings")).select("sensor", "value")
        assert_df_equality(gold, expected, ignore_row_order=True, ignore_nullable=True)

    check()
    # The same range again, chosen by time: what the first backfill wrote is taken out and
    # written again, nothing twice.
    code, out, err = _cli(capsys, "backfill", *conf, "--dataset", "readings", "--since", between.isoformat())
    assert code == 0, out + err
    assert "taken out of silver first: 2 rows, of its quarantine: 0 rows" in out
    check()
    # And the next run has nothing new.
    code, out, _ = _cli(capsys, "run", *conf, "--dataset", "readings", "--json")
    assert code == 0
    layers = json.loads(out.strip().splitlines()[-1])["datasets"]["readings"]
    assert {layer: r["rows_written"] for layer, r in layers.items()} == {"bronze": 0, "silver": 0, "gold": 0}


def test_backfill_is_refused_for_an_append_gold_before_spark(
    tmp_path: Path, plant: Callable[..., Path], capsys
) -> None:
    pipeline = plant("gold: {table: readings, mode: append}\n")
    code, _, err = _cli(
        capsys,
        "backfill",
        "--config",
        str(pipeline),
        "--env",
        "",
        "--dataset",
        "readings",
        "--from-version",
        "0",
    )
    assert code == 1
    assert (
        "publishes gold with mode append: a backfill would append the range's rows to gold a second time"
        in err
    )
    assert not (tmp_path / "lake").exists()
