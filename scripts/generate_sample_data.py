#!/usr/bin/env python3
"""Generate the committed sample landing data of the device-telemetry domain.

The output is deterministic (fixed seed, gzip with mtime=0), so re-running the script
reproduces the committed files byte for byte. Every deliberate defect is recorded in
MANIFEST.json with its file, line and column so library tests can assert exact counts.

Usage: python scripts/generate_sample_data.py [--out samples]
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import random
import sys
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sample_customer_changes

SEED = 20261101
DAYS = ("2026-11-01", "2026-11-02", "2026-11-03")
DEVICES = tuple(f"dev-{i:05d}" for i in range(1, 41))
USAGE_COLUMNS = (
    "device_id",
    "event_ts",
    "app",
    "cpu_pct",
    "mem_mb",
    "battery_pct",
    "network",
    "owner_email",
)
FIRMWARE_DAY = "2026-11-03"  # the day the upstream feed started sending `firmware`
APPS = ("chrome", "slack", "teams", "outlook", "spotify", "zoom", "vscode", "excel")
NETWORKS = ("wifi", "wifi", "wifi", "4g", "5g", "offline")
MODELS = ("TX-100", "TX-200", "TX-300")
OS_VERSIONS = ("14.1", "14.2", "15.0")
POWER_TOKENS = ("yes", "no", "1", "0", "true", "false")

# (day, file number) -> data rows; None = empty gzip, 0 = header only.
USAGE_PLAN: dict[tuple[str, int], int | None] = {
    ("2026-11-01", 1): 300,
    ("2026-11-01", 2): 260,
    ("2026-11-01", 3): None,
    ("2026-11-02", 1): 340,
    ("2026-11-02", 2): 0,
    ("2026-11-02", 3): 220,
    ("2026-11-03", 1): 280,
    ("2026-11-03", 2): 320,
}


@dataclass
class Defect:
    """One deliberate defect; line is resolved when the file is written."""

    kind: str
    column: str | None
    value: str | None
    description: str


@dataclass
class Row:
    """A data line of a landing file and the defects planted in it."""

    fields: list[str]
    defects: list[Defect] = field(default_factory=list)
    duplicate_of: Row | None = None


@dataclass
class LandingFile:
    """A landing file under construction."""

    path: str
    dataset: str
    day: str
    header: list[str] | None
    rows: list[Row] = field(default_factory=list)
    file_defects: list[Defect] = field(default_factory=list)
    bom: bool = False


def _usage_path(day: str, n: int) -> str:
    return f"landing/usage/{day}/usage-{day}-{n}.csv.gz"


def _usage_rows(rng: random.Random, day: str, count: int, used: set[tuple[str, str]]) -> list[Row]:
    """Clean rows sorted by time; (device_id, event_ts) is unique across the whole domain."""
    rows = []
    while len(rows) < count:
        device = rng.choice(DEVICES)
        secs = rng.randrange(86_400)
        ts = f"{day} {secs // 3600:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}"
        if (device, ts) in used:
            continue
        used.add((device, ts))
        fields = [
            device,
            ts,
            rng.choice(APPS),
            f"{rng.uniform(0, 100):.1f}",
            str(rng.randrange(128, 8193)),
            str(rng.randrange(0, 101)),
            rng.choice(NETWORKS),
            f"owner{device[4:]}@example.com",
        ]
        if day >= FIRMWARE_DAY:
            fields.append(f"fw-3.{rng.randrange(0, 3)}.{rng.randrange(0, 10)}")
        rows.append(Row(fields))
    rows.sort(key=lambda r: (r.fields[1], r.fields[0]))
    return rows


def _set(row: Row, column: str, value: str, kind: str, description: str) -> None:
    """Overwrite one value of a clean row and record why."""
    assert not row.defects, "a row carries exactly one defect"
    row.fields[USAGE_COLUMNS.index(column)] = value
    row.defects.append(Defect(kind, column, value, description))


def _duplicate(original: Row, description: str) -> Row:
    assert not original.defects, "only clean rows are duplicated"
    dup = Row(list(original.fields), duplicate_of=original)
    dup.defects.append(Defect("duplicate", "device_id,event_ts", None, description))
    return dup


def build_usage(rng: random.Random) -> list[LandingFile]:
    """Usage files with their defects planted at fixed row positions."""
    used: set[tuple[str, str]] = set()
    files: dict[tuple[str, int], LandingFile] = {}
    for (day, n), count in USAGE_PLAN.items():
        header = list(USAGE_COLUMNS) + (["firmware"] if day >= FIRMWARE_DAY else [])
        lf = LandingFile(_usage_path(day, n), "usage", day, None if count is None else header)
        lf.rows = _usage_rows(rng, day, count or 0, used)
        files[(day, n)] = lf

    d1f1, d1f2, d1f3 = (
        files["2026-11-01", 1],
        files["2026-11-01", 2],
        files["2026-11-01", 3],
    )
    d2f1, d2f2, d2f3 = (
        files["2026-11-02", 1],
        files["2026-11-02", 2],
        files["2026-11-02", 3],
    )
    d3f1, d3f2 = files["2026-11-03", 1], files["2026-11-03", 2]

    _set(d1f1.rows[10], "app", "NA", "null_token", "app is the null token NA")
    _set(
        d1f1.rows[20],
        "battery_pct",
        "null",
        "null_token",
        "battery_pct is the null token null",
    )
    _set(d1f1.rows[30], "network", "", "null_token", "network is empty")
    _set(d1f1.rows[40], "cpu_pct", "abc", "bad_type", "cpu_pct is not a number")
    _set(
        d1f1.rows[50],
        "event_ts",
        "2026-13-45 99:00:00",
        "bad_timestamp",
        "event_ts has month 13, day 45, hour 99",
    )
    _set(
        d1f1.rows[60],
        "owner_email",
        "NA",
        "null_token",
        "owner_email is the null token NA",
    )

    d1f2.bom = True
    d1f2.file_defects.append(Defect("bom", None, "\ufeff", "content starts with a UTF-8 BOM"))
    _set(d1f2.rows[15], "mem_mb", "-1", "negative_value", "mem_mb is negative")
    # Inserted from the end so earlier positions stay valid.
    d1f2.rows.insert(101, _duplicate(d1f2.rows[100], "exact copy of the previous line"))
    d1f2.rows.insert(5, _duplicate(d1f1.rows[200], "exact copy of a line of another file"))

    d1f3.file_defects.append(Defect("empty_file", None, None, "valid gzip of zero bytes"))

    _set(d2f1.rows[90], "mem_mb", "", "null_token", "mem_mb is empty")
    _set(
        d2f1.rows[120],
        "cpu_pct",
        "null",
        "null_token",
        "cpu_pct is the null token null",
    )
    extra = d2f1.rows[77]
    extra.fields.append("unexpected")
    extra.defects.append(Defect("too_many_fields", None, "unexpected", "9 fields where the header has 8"))
    short = d2f1.rows[150]
    del short.fields[4:]
    short.defects.append(Defect("too_few_fields", None, None, "4 fields where the header has 8"))
    d2f1.rows.insert(200, _duplicate(d1f2.rows[31], "re-delivered line of the previous day"))

    d2f2.file_defects.append(Defect("header_only", None, None, "header line and no data"))

    _set(d2f3.rows[33], "cpu_pct", "140.0", "out_of_range", "cpu_pct above 100")
    _set(
        d2f3.rows[66],
        "device_id",
        "dev-12a45",
        "bad_pattern",
        "device_id does not match ^dev-[0-9]{5}$",
    )
    _set(
        d2f3.rows[99],
        "battery_pct",
        "NA",
        "null_token",
        "battery_pct is the null token NA",
    )

    for lf in (d3f1, d3f2):
        lf.file_defects.append(
            Defect(
                "added_column",
                "firmware",
                None,
                "column firmware appears from this day on",
            )
        )
    d3f1.rows[12].fields[-1] = "NA"
    d3f1.rows[12].defects.append(Defect("null_token", "firmware", "NA", "firmware is the null token NA"))
    return list(files.values())


def build_device_config(rng: random.Random) -> tuple[list[LandingFile], list[dict]]:
    """One JSON-lines snapshot file per day, and the os_version changes it contains."""
    base = {
        d: {
            "os_version": rng.choice(OS_VERSIONS),
            "model": rng.choice(MODELS),
            "power_saving": rng.choice(POWER_TOKENS),
            "brightness_pct": rng.randrange(10, 101),
            "apps_installed": sorted(rng.sample(APPS, rng.randrange(2, 6))),
        }
        for d in DEVICES
    }
    upgrades = {
        "2026-11-02": ("dev-00003", "dev-00011", "dev-00019", "dev-00027"),
        "2026-11-03": ("dev-00007", "dev-00011", "dev-00035"),
    }
    changes = []
    files = []
    for day in DAYS:
        lf = LandingFile(f"landing/device_config/{day}/config-{day}.json", "device_config", day, None)
        for i, device in enumerate(DEVICES):
            state = base[device]
            if device in upgrades.get(day, ()):
                new = f"{float(state['os_version']) + 0.1:.1f}"
                changes.append(
                    {
                        "device_id": device,
                        "day": day,
                        "column": "os_version",
                        "old": state["os_version"],
                        "new": new,
                    }
                )
                state["os_version"] = new
            record = {
                "device_id": device,
                "snapshot_ts": f"{day} 06:{i:02d}:00",
                **state,
            }
            lf.rows.append(Row([json.dumps(record)]))
        files.append(lf)

    day1, day2, day3 = files
    _json_defect(
        day1.rows[4],
        "brightness_pct",
        "NA",
        "null_token",
        "brightness_pct is the null token NA",
    )
    _json_defect(day3.rows[21], "model", "??", "unknown_value", "model is not a known model")
    # Same meaning, different spelling: a normalising SCD2 must not see a change here.
    base_ps = base["dev-00014"]["power_saving"]
    spelled = {
        "yes": "true",
        "true": "1",
        "1": "yes",
        "no": "false",
        "false": "0",
        "0": "no",
    }
    _json_defect(
        day2.rows[13],
        "power_saving",
        spelled[base_ps],
        "equivalent_representation",
        f"power_saving spelled differently than on 2026-11-01 ({base_ps})",
    )
    orphan = {"snapshot_ts": "2026-11-02 07:00:00", **base["dev-00009"]}
    day2.rows.append(
        Row(
            [json.dumps(orphan)],
            [Defect("missing_key", "device_id", None, "record has no device_id field")],
        )
    )
    return files, changes


def _json_defect(row: Row, key: str, value: str, kind: str, description: str) -> None:
    record = json.loads(row.fields[0])
    record[key] = value
    row.fields[0] = json.dumps(record)
    row.defects.append(Defect(kind, key, value, description))


def _render(lf: LandingFile) -> bytes:
    if lf.dataset == "device_config":
        return "".join(r.fields[0] + "\n" for r in lf.rows).encode()
    if lf.header is None:
        return gzip.compress(b"", mtime=0)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(lf.header)
    writer.writerows(r.fields for r in lf.rows)
    text = ("\ufeff" if lf.bom else "") + buf.getvalue()
    return gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0)


def _manifest(files: list[LandingFile], changes: list[dict]) -> dict:
    first_line = 1  # JSON lines have no header
    positions: dict[int, tuple[str, int]] = {}
    for lf in files:
        offset = first_line + (1 if lf.header else 0)
        for i, row in enumerate(lf.rows):
            positions[id(row)] = (lf.path, i + offset)
    defects = []
    entries = []
    for lf in files:
        entries.append(
            {
                "path": lf.path,
                "dataset": lf.dataset,
                "day": lf.day,
                "header": lf.header,
                "data_rows": len(lf.rows),
            }
        )
        for d in lf.file_defects:
            line = 1 if d.kind in ("bom", "added_column") else None
            defects.append(_defect_entry(lf.path, line, d))
        for row in lf.rows:
            for d in row.defects:
                entry = _defect_entry(*positions[id(row)], d)
                if row.duplicate_of is not None:
                    src, src_line = positions[id(row.duplicate_of)]
                    entry["duplicate_of"] = {"file": src, "line": src_line}
                defects.append(entry)
    return {
        "generator": "scripts/generate_sample_data.py",
        "seed": SEED,
        "files": entries,
        "defects": defects,
        "device_config_changes": changes,
    }


def _defect_entry(path: str, line: int | None, d: Defect) -> dict:
    return {
        "file": path,
        "line": line,
        "column": d.column,
        "kind": d.kind,
        "value": d.value,
        "description": d.description,
    }


def generate(out_dir: Path) -> dict:
    """Write landing files and MANIFEST.json under out_dir; return the manifest."""
    rng = random.Random(SEED)
    usage = build_usage(rng)
    config, changes = build_device_config(rng)
    files = usage + config
    manifest = _manifest(files, changes)
    for lf, entry in zip(files, manifest["files"], strict=True):
        target = out_dir / lf.path
        target.parent.mkdir(parents=True, exist_ok=True)
        data = _render(lf)
        target.write_bytes(data)
        entry["bytes"] = len(data)
    _write_customers(out_dir, manifest)
    (out_dir / "MANIFEST.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def _write_customers(out_dir: Path, manifest: dict) -> None:
    """The customers change feed (its own random stream, so the other files do not change)."""
    files, cases = sample_customer_changes.build(SEED + 1)
    for f in files:
        data = f.pop("text").encode("utf-8")
        target = out_dir / f["path"]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        manifest["files"].append({**f, "data_rows": data.count(b"\n") - 1, "bytes": len(data)})
    manifest["cdc_cases"] = cases


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent.parent / "samples")
    args = parser.parse_args(argv)
    manifest = generate(args.out)
    total = sum(f["bytes"] for f in manifest["files"])
    print(f"wrote {len(manifest['files'])} files ({total} bytes) under {args.out}")


if __name__ == "__main__":
    main()
