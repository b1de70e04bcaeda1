"""`lakehouse quarantine show`: counts per reason and the first rows, silver and gold (issue 13 part 3).

One pipeline run for the module: ``readings`` lands the rows of ``PLANTED`` (each with the
reasons silver must give it, and one row gold's ``drop`` expectation keeps out); ``clean``
lands only valid rows (its gold has no expectation, so gold never writes a quarantine).
"""

from __future__ import annotations

import json
import textwrap
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from lakehouse.cli import main
from lakehouse.config import load_config
from lakehouse.pipeline import run_pipeline

# (csv line, the reasons silver gives it): sensor must match s-<digit> and is required.
PLANTED = [
    ("s-1,1.5", []),
    ("s-2,abc", ["cast on value"]),
    ("s-XX,2.0", ["pattern on sensor"]),
    ("bad,xyz", ["pattern on sensor", "cast on value"]),
    (",3.0", ["not_null on sensor"]),
    ("s-5,500", []),  # valid in silver, dropped by gold's value_small
    ("s-6,7.0", []),
]
SILVER_REASONS = Counter(r for _, reasons in PLANTED for r in reasons)
QUARANTINED = [line for line, reasons in PLANTED if reasons]


@pytest.fixture(scope="module")
def pipeline(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("quarantine")
    (root / "landing/readings").mkdir(parents=True)
    (root / "landing/readings/r1.csv").write_text(
        "sensor,value\n" + "\n".join(line for line, _ in PLANTED) + "\n"
    )
    (root / "landing/clean").mkdir()
    (root / "landing/clean/c1.json").write_text('{"code": "E1"}\n{"code": "E2"}\n')
    path = root / "p.yml"
    path.write_text(
        textwrap.dedent(f"""
        pipeline: q
        storage: {{root: "{root / "lake"}", landing: "{root / "landing"}"}}
        datasets:
          readings:
            source: {{format: csv, path: readings, options: {{header: true}}}}
            contract:
              columns:
                - {{name: sensor, nullable: false, pattern: "^s-[0-9]$"}}
                - {{name: value, type: double}}
            gold:
              table: readings
              mode: merge
              keys: [sensor]
              expectations: [{{name: value_small, rule: "value < 100", action: drop}}]
          clean:
            source: {{format: json, path: clean}}
            contract: {{columns: [{{name: code}}]}}
            gold: {{table: clean, mode: merge, keys: [code]}}
        """)
    )
    assert run_pipeline(spark, load_config(path, None)).status == "succeeded"
    return path


def _show(capsys: pytest.CaptureFixture[str], pipeline: Path, *more: str) -> tuple[int, str]:
    code = main(["quarantine", "show", "--config", str(pipeline), "--env", "", *more])
    return code, capsys.readouterr().out


def _json(capsys: pytest.CaptureFixture[str], pipeline: Path, *more: str) -> dict[str, Any]:
    code, out = _show(capsys, pipeline, "--json", *more)
    assert code == 0
    return {t["layer"]: t for t in json.loads(out)["tables"]}


def _raw_sensors(table: dict[str, Any]) -> set[str | None]:
    return {json.loads(row["row"]).get("sensor") for row in table["sample"]}


def test_counts_per_reason_and_rows_of_silver_and_gold(pipeline: Path, capsys) -> None:
    tables = _json(capsys, pipeline, "--dataset", "readings")
    silver, gold = tables["silver"], tables["gold"]
    assert silver["table"] == str(pipeline.parent / "lake/silver/readings_quarantine")
    assert (silver["rows"], silver["matching"]) == (len(QUARANTINED), len(QUARANTINED))
    assert Counter({r["label"]: r["count"] for r in silver["reasons"]}) == SILVER_REASONS
    cast = next(r for r in silver["reasons"] if r["label"] == "cast on value")
    assert cast["message"] == "not a valid double"
    assert _raw_sensors(silver) == {"s-2", "s-XX", "bad", None}
    bad = next(row for row in silver["sample"] if json.loads(row["row"]).get("sensor") == "bad")
    assert sorted((r["label"], r["value"]) for r in bad["reasons"]) == [
        ("cast on value", "xyz"),
        ("pattern on sensor", "bad"),
    ]
    assert bad["file"].endswith("landing/readings/r1.csv") and bad["quarantined_at"]

    assert gold["table"] == str(pipeline.parent / "lake/gold/readings_quarantine")
    assert (gold["rows"], [(r["label"], r["count"]) for r in gold["reasons"]]) == (
        1,
        [("expectation value_small", 1)],
    )
    assert [json.loads(row["row"])["value"] for row in gold["sample"]] == [500.0]


def test_reason_filter_is_an_exact_rule_or_label(pipeline: Path, capsys) -> None:
    tables = _json(capsys, pipeline, "--dataset", "readings", "--reason", "cast")
    silver = tables["silver"]
    assert (silver["rows"], silver["matching"]) == (len(QUARANTINED), 2)
    assert _raw_sensors(silver) == {"s-2", "bad"}
    # counts are over the kept rows, all their reasons: "bad" also failed the pattern
    assert {r["label"]: r["count"] for r in silver["reasons"]} == {"cast on value": 2, "pattern on sensor": 1}
    assert tables["gold"]["matching"] == 0

    silver = _json(capsys, pipeline, "--dataset", "readings", "--reason", "pattern on sensor")["silver"]
    assert _raw_sensors(silver) == {"s-XX", "bad"}
    assert _json(capsys, pipeline, "--dataset", "readings", "--reason", "cast on")["silver"]["matching"] == 0
    gold = _json(capsys, pipeline, "--dataset", "readings", "--reason", "value_small")["gold"]
    assert gold["matching"] == 1


def test_limit_0_gives_counts_only_and_a_negative_limit_is_refused(pipeline: Path, capsys) -> None:
    silver = _json(capsys, pipeline, "--dataset", "readings", "--limit", "0")["silver"]
    assert (silver["matching"], silver["sample"]) == (len(QUARANTINED), [])
    with pytest.raises(SystemExit) as refused:
        _show(capsys, pipeline, "--dataset", "readings", "--limit", "-1")
    assert refused.value.code == 2 and "must be 0 or more, not -1" in capsys.readouterr().err


def test_text_output_limit_and_an_empty_quarantine(pipeline: Path, capsys) -> None:
    code, out = _show(capsys, pipeline, "--dataset", "readings", "--limit", "1")
    assert code == 0
    lines = out.splitlines()
    assert f"silver quarantine {pipeline.parent / 'lake/silver/readings_quarantine'}: 4 row(s)" in lines
    assert any(line.split() == ["2", "cast", "on", "value", "not", "a", "valid", "double"] for line in lines)
    assert lines.count("first 1 row(s):") == 2  # silver and gold
    assert "     - expectation value_small: failed this drop expectation" in lines

    code, out = _show(capsys, pipeline, "--dataset", "clean")
    assert code == 0
    assert out.splitlines()[1:] == [
        f"silver quarantine {pipeline.parent / 'lake/silver/clean_quarantine'}: empty",
        f"gold quarantine {pipeline.parent / 'lake/gold/clean_quarantine'}: empty (no row quarantined yet)",
    ]
