"""A run that dies between gold's write and gold's state commit: the next run replays the
range, Delta skips the write it already has, and the counts are the range's one commit.

The death is raised where it would happen (in the state commit of the gold layer, after the
write), as a BaseException the pipeline does not handle, so the lake is left as a killed
process leaves it: gold written, its range still planned.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from chispa import assert_df_equality

from lakehouse.cli import main
from lakehouse.io import increments


class Died(BaseException):
    """The process ends here (not an error the pipeline reports)."""


def _gold_version(lake: Path) -> int:
    return max(int(p.stem) for p in (lake / "gold/readings/_delta_log").glob("*.json"))


@pytest.mark.parametrize(
    "gold",
    [
        "gold: {table: readings, mode: merge, keys: [sensor]}\n",
        "gold: {table: readings, mode: overwrite_partitions, partition_by: [sensor]}\n",
    ],
    ids=["merge", "overwrite_partitions"],
)
def test_a_range_replayed_after_dying_before_the_state_commit_is_written_once(
    spark, tmp_path: Path, plant: Callable[..., Path], capsys, monkeypatch, gold: str
) -> None:
    conf = ["--config", str(plant(gold)), "--env", "", "--dataset", "readings"]
    lake = tmp_path / "lake"
    assert main(["run", *conf]) == 0  # s-1 1.5 and s-3 2.5 (s-2 is quarantined)
    (tmp_path / "landing" / "readings" / "r2.csv").write_text("sensor,value\ns-4,9.5\ns-1,1.75\n")

    commit = increments.RangeState.commit

    def dies_in_gold(state: increments.RangeState, inc: increments.Increment, info: dict) -> None:
        if f"{Path('gold') / 'readings'}" in state.dir.root:
            raise Died
        commit(state, inc, info)

    monkeypatch.setattr(increments.RangeState, "commit", dies_in_gold)
    with pytest.raises(Died):
        main(["run", *conf])
    monkeypatch.setattr(increments.RangeState, "commit", commit)
    written = _gold_version(lake)
    capsys.readouterr()

    code = main(["run", *conf, "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    gold_result = json.loads(out.strip().splitlines()[-1])["datasets"]["readings"]["gold"]
    assert gold_result["status"] == "succeeded"
    assert gold_result["rows_read"] == 2 and gold_result["rows_written"] == 2  # the range's one write
    assert _gold_version(lake) == written  # nothing written twice
    expected = spark.createDataFrame(
        [("s-1", 1.75), ("s-3", 2.5), ("s-4", 9.5)], "sensor string, value double"
    )
    table = spark.read.format("delta").load(str(lake / "gold/readings")).select("sensor", "value")
    assert_df_equality(table, expected, ignore_row_order=True, ignore_nullable=True)

    # The range is committed: the next run has nothing new.
    assert main(["run", *conf, "--json"]) == 0
    layers = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["datasets"]["readings"]
    assert layers["gold"]["rows_read"] == 0 and _gold_version(lake) == written
