"""The committed sample data is reproducible, small, and dirty exactly as documented."""

from __future__ import annotations

import csv
import gzip
import importlib.util
import io
import json
import re
import sys
from collections import Counter
from itertools import pairwise
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
MANIFEST = json.loads((SAMPLES / "MANIFEST.json").read_text())


def _load_generator():
    spec = importlib.util.spec_from_file_location(
        "generate_sample_data", ROOT / "scripts" / "generate_sample_data.py"
    )
    module = importlib.util.module_from_spec(spec)
    # dataclasses resolve annotations through sys.modules, so register before executing
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _text(rel: str) -> str:
    raw = (SAMPLES / rel).read_bytes()
    return (gzip.decompress(raw) if rel.endswith(".gz") else raw).decode("utf-8")


def _lines(rel: str) -> list[str]:
    return _text(rel).splitlines()


def _record(defect: dict) -> list[str]:
    """The parsed CSV fields of the line a defect points at."""
    return next(csv.reader([_lines(defect["file"])[defect["line"] - 1]]))


def _defects(kind: str) -> list[dict]:
    found = [d for d in MANIFEST["defects"] if d["kind"] == kind]
    assert found, f"no defect of kind {kind} in the manifest"
    return found


def _column_value(defect: dict) -> str:
    header = _lines(defect["file"])[0].lstrip("\ufeff").split(",")
    return _record(defect)[header.index(defect["column"])]


def _committed_files() -> list[Path]:
    return sorted(p for p in SAMPLES.rglob("*") if p.is_file() and p.name != "README.md")


def test_regeneration_is_byte_identical(tmp_path: Path) -> None:
    _load_generator().generate(tmp_path)
    committed = {p.relative_to(SAMPLES): p.read_bytes() for p in _committed_files()}
    fresh = {p.relative_to(tmp_path): p.read_bytes() for p in sorted(tmp_path.rglob("*")) if p.is_file()}
    assert sorted(fresh) == sorted(committed)
    for rel, data in committed.items():
        assert fresh[rel] == data, f"{rel} differs from a fresh generation"


def test_manifest_lists_every_landing_file_with_exact_row_counts() -> None:
    listed = {f["path"] for f in MANIFEST["files"]}
    on_disk = {str(p.relative_to(SAMPLES)) for p in (SAMPLES / "landing").rglob("*") if p.is_file()}
    assert listed == on_disk
    for entry in MANIFEST["files"]:
        lines = _lines(entry["path"])
        header_lines = 1 if entry["header"] else 0
        assert len(lines) - header_lines == entry["data_rows"], entry["path"]
        assert (SAMPLES / entry["path"]).stat().st_size == entry["bytes"]


def test_usage_shape_matches_the_brief() -> None:
    usage = [f for f in MANIFEST["files"] if f["dataset"] == "usage"]
    per_day = Counter(f["day"] for f in usage)
    assert per_day == {"2026-11-01": 3, "2026-11-02": 3, "2026-11-03": 2}
    with_data = [f["data_rows"] for f in usage if f["data_rows"]]
    assert all(200 <= n <= 400 for n in with_data)
    devices = set()
    for f in usage:
        for line in _lines(f["path"])[1:]:
            devices.add(line.split(",")[0])
    assert 38 <= len({d for d in devices if re.fullmatch(r"dev-[0-9]{5}", d)}) <= 40


def test_total_size_is_small() -> None:
    assert sum(p.stat().st_size for p in _committed_files()) < 1_000_000


@pytest.mark.parametrize(
    ("kind", "values"),
    [
        ("null_token", {"NA", "null", ""}),
        ("bad_type", {"abc"}),
        ("bad_timestamp", {"2026-13-45 99:00:00"}),
        ("negative_value", {"-1"}),
        ("out_of_range", {"140.0"}),
    ],
)
def test_value_defects_are_where_the_manifest_says(kind: str, values: set[str]) -> None:
    usage = [d for d in _defects(kind) if d["file"].startswith("landing/usage/")]
    assert {_column_value(d) for d in usage} == values


def test_bad_device_id_does_not_match_the_pattern() -> None:
    (defect,) = _defects("bad_pattern")
    value = _column_value(defect)
    assert value == defect["value"]
    assert not re.fullmatch(r"^dev-[0-9]{5}$", value)


def test_duplicates_repeat_an_event_including_across_files() -> None:
    dups = _defects("duplicate")
    for d in dups:
        original = {
            "file": d["duplicate_of"]["file"],
            "line": d["duplicate_of"]["line"],
        }
        assert _record(d) == _record(original)
    assert any(d["file"] != d["duplicate_of"]["file"] for d in dups)
    assert any(d["file"] == d["duplicate_of"]["file"] for d in dups)


def test_firmware_column_only_from_day_three() -> None:
    for entry in MANIFEST["files"]:
        if entry["dataset"] != "usage" or not entry["header"]:
            continue
        lines = _lines(entry["path"])
        has_firmware = "firmware" in lines[0].split(",")
        assert has_firmware == (entry["day"] >= "2026-11-03"), entry["path"]
        if has_firmware:
            assert all(len(next(csv.reader([ln]))) == 9 for ln in lines[1:])
    assert len(_defects("added_column")) == 2


def test_malformed_rows_have_wrong_field_counts() -> None:
    (extra,) = _defects("too_many_fields")
    (short,) = _defects("too_few_fields")
    width = len(_lines(extra["file"])[0].split(","))
    assert len(_record(extra)) > width
    assert len(_record(short)) < width


def test_empty_header_only_and_bom_files() -> None:
    (empty,) = _defects("empty_file")
    assert gzip.decompress((SAMPLES / empty["file"]).read_bytes()) == b""
    (header_only,) = _defects("header_only")
    assert _lines(header_only["file"]) == [",".join(MANIFEST["files"][0]["header"])]
    (bom,) = _defects("bom")
    raw = gzip.decompress((SAMPLES / bom["file"]).read_bytes())
    assert raw.startswith(b"\xef\xbb\xbfdevice_id,")
    boms = [f for f in MANIFEST["files"] if _text(f["path"]).startswith("\ufeff")]
    assert [f["path"] for f in boms] == [bom["file"]]


def _config(day: str) -> list[dict]:
    rel = f"landing/device_config/{day}/config-{day}.json"
    return [json.loads(line) for line in io.StringIO(_text(rel))]


def test_device_config_snapshots_and_scd2_changes() -> None:
    days = ("2026-11-01", "2026-11-02", "2026-11-03")
    by_day = {day: {r["device_id"]: r for r in _config(day) if "device_id" in r} for day in days}
    assert all(len(snap) == 40 for snap in by_day.values())
    changed = {
        (dev, day)
        for prev, day in pairwise(days)
        for dev in by_day[day]
        if by_day[day][dev]["os_version"] != by_day[prev][dev]["os_version"]
    }
    listed = {(c["device_id"], c["day"]) for c in MANIFEST["device_config_changes"]}
    assert changed == listed
    assert 0 < len({dev for dev, _ in changed}) < 10
    tokens = {r["power_saving"] for snap in by_day.values() for r in snap.values()}
    assert tokens == {"yes", "no", "1", "0", "true", "false"}
    assert all(isinstance(r["apps_installed"], list) for r in by_day[days[0]].values())


def test_device_config_dirty_values() -> None:
    for d in MANIFEST["defects"]:
        if not d["file"].startswith("landing/device_config/"):
            continue
        record = json.loads(_lines(d["file"])[d["line"] - 1])
        if d["kind"] == "missing_key":
            assert "device_id" not in record
        else:
            assert record[d["column"]] == d["value"]
    assert _defects("unknown_value")[0]["value"] == "??"
    config_nulls = [d for d in _defects("null_token") if "device_config" in d["file"]]
    assert config_nulls
