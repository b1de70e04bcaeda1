"""The benchmark harness (benchmarks/): generated data, rule contracts, targets, and a smoke run.

Timings are never asserted; the smoke run checks the JSON records and that the rows the
harness counts from Delta's commits are the rows the generator wrote.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from pathlib import Path

import pytest
from benchmarks import rules
from benchmarks.generate import Spec, generate, load_manifest

RECORD_KEYS = {
    "scenario",
    "variant",
    "parameters",
    "rows",
    "seconds",
    "rows_per_s",
    "session_start_s",
    "peak_rss_mb",
    "load_avg",
    "cpu_count",
    "versions",
    "machine",
    "counts",
    "steps",
}


def _usage_lines(folder: Path, files: list[str]) -> list[list[str]]:
    rows = []
    for rel in files:
        text = gzip.decompress((folder / rel).read_bytes()).decode()
        reader = csv.reader(io.StringIO(text))
        assert next(reader)[0] == "device_id"
        rows += list(reader)
    return rows


def _quarantine_worthy(rows: list[list[str]]) -> int:
    """Rows the usage contract rejects, judged here without the library or the generator."""
    seen, bad = set(), 0
    for row in rows:
        device, ts, cpu = row[0], row[1], row[3]
        valid_ts = re.fullmatch(r"2026-1[12]-\d\d \d\d:\d\d:\d\d", ts) is not None
        try:
            cpu_ok = 0 <= float(cpu) <= 100
        except ValueError:
            cpu_ok = False
        if not (re.fullmatch(r"dev-\d{5}", device) and valid_ts and cpu_ok) or (device, ts) in seen:
            bad += 1
        seen.add((device, ts))
    return bad


def test_generated_data_matches_its_manifest_and_is_cached(tmp_path: Path) -> None:
    spec = Spec(rows=3000, files=3, extra=2, dirty=0.02)
    folder = generate(spec, root=tmp_path / "a", workers=1)
    manifest = load_manifest(folder)
    rows = _usage_lines(folder, manifest["usage"]["files"])

    assert len(manifest["usage"]["files"]) == 3
    assert len(rows) == manifest["usage"]["rows"] == 3000 + manifest["usage"]["defects"].get("duplicate", 0)
    assert {len(r) for r in rows} == {9}
    assert _quarantine_worthy(rows) == manifest["usage"]["quarantined"] > 0
    assert [e["rows"] for e in manifest["extra"]] == [
        len(_usage_lines(folder, [e["path"]])) for e in manifest["extra"]
    ]
    changed = _usage_lines(
        folder, [str(next((folder / "changes" / "spread").rglob("*.gz")).relative_to(folder))]
    )
    original = {(r[0], r[1]): r for r in rows}
    assert len(changed) == manifest["changes"]["spread"] > 0
    assert all(original[(c[0], c[1])][3] != c[3] for c in changed)  # same key, new cpu_pct

    again = generate(spec, root=tmp_path / "b", workers=2)
    for rel in manifest["usage"]["files"]:
        assert (again / rel).read_bytes() == (folder / rel).read_bytes()
    stamp = (folder / "MANIFEST.json").stat().st_mtime_ns
    assert generate(spec, root=tmp_path / "a") == folder
    assert (folder / "MANIFEST.json").stat().st_mtime_ns == stamp


@pytest.mark.parametrize("count", [1, 10, 50])
def test_rule_contracts_hold_exactly_n_rules(count: int) -> None:
    from benchmarks.runner import PIPELINE

    from lakehouse.config import load_config

    config = load_config(
        PIPELINE, env="local", overrides={"datasets": {"usage": {"contract": rules.contract(count)}}}
    )
    contract = config.dataset("usage").contract
    found = sum((not c.nullable) + len(c.rules) for c in contract.columns)
    assert found == count == len(rules.sql_rules(count))
    assert len(contract.columns) == 16 and contract.primary_key == ()


def test_targets_are_judged_from_the_medians() -> None:
    from benchmarks.report import group
    from benchmarks.targets import targets

    def rec(scenario: str, variant: str, seconds: float, **parameters: object) -> dict:
        return {"scenario": scenario, "variant": variant, "seconds": seconds, "parameters": parameters}

    records = [
        rec("a", "library", 11.0, usage_rows=10),
        rec("a", "library", 13.0, usage_rows=10),
        rec("a", "handwritten", 10.0, usage_rows=10),
        rec("a", "plain_load", 5.0, usage_rows=10),
        rec("e", "library", 3.0, rules=1),
        rec("e", "library", 5.0, rules=50),
    ]
    lines = targets(group(records))
    assert "= 1.20 (target ≤ 1.2): **reached**" in lines[0]
    assert "= 2.40 (target ≤ 1.8): **not yet**" in lines[1]
    assert "50 rules / 1 rule = 1.67" in lines[2] and lines[2].endswith("**reached**")


@pytest.mark.slow
def test_smoke_run_records_count_the_generated_rows(spark: object, tmp_path: Path, monkeypatch) -> None:
    from benchmarks import report, suite
    from benchmarks.plan import SMOKE
    from benchmarks.runner import Runner

    monkeypatch.setenv("LAKEHOUSE_BENCH_DATA", str(tmp_path / "data"))
    runner = Runner(
        tmp_path / "results.jsonl", tmp_path / "runs", "smoke", SMOKE.spark_conf(), echo=False, spark=spark
    )
    suite.run(runner, SMOKE)

    records = report.load([runner.results])
    assert [(r["scenario"], r["variant"]) for r in records] == [
        ("a", "library"),
        ("a", "plain_load"),
        ("a", "handwritten"),
    ]
    for record in records:
        assert set(record) >= RECORD_KEYS
        assert record["seconds"] > 0 and record["cpu_count"] >= 1
        assert record["versions"]["pyspark"] and record["versions"]["delta_spark"]
    lib, plain, hand = records
    p = lib["parameters"]
    assert p["landed_rows"] == p["usage_rows"] + p["device_config_rows"]
    assert lib["rows"] == hand["rows"] == p["landed_rows"]
    assert plain["rows"] == p["usage_rows"]
    for record in (lib, hand):
        counts = record["counts"]
        assert counts["silver/usage"] + counts["silver/usage_quarantine"] == p["usage_rows"]
        assert counts["silver/usage_quarantine"] == p["expected_quarantined"]
        assert counts["gold/daily_device_usage"] > 0
    assert set(lib["steps"]) >= {"usage/bronze", "usage/silver", "usage/gold", "outside layers"}


def test_delta_log_counts_match_spark(spark, tmp_path: Path) -> None:
    from benchmarks import deltalog

    path = tmp_path / "t"
    spark.range(10).repartition(2).write.format("delta").save(str(path))
    assert deltalog.version(path) == 0 and deltalog.live_files(path) == 2
    spark.range(5).write.format("delta").mode("append").save(str(path))
    spark.range(3).coalesce(1).write.format("delta").mode("overwrite").save(str(path))
    table = spark.read.format("delta").load(str(path))
    assert deltalog.live_files(path) == len(table.inputFiles()) == 1
    assert deltalog.rows_written(path, None) == 10 + 5 + 3
    assert deltalog.rows_written(path, 0) == 5 + 3
    assert [c["operation"] for c in deltalog.commits(path, 0)] == ["WRITE", "WRITE"]
