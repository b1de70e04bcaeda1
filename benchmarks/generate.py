"""Seeded landing data of the sample domain (usage gzip CSV + device_config JSON) at scale.

Same columns and formats as ``scripts/generate_sample_data.py`` and ``conf/contracts/*.yml``,
but sized by parameters: ``rows`` usage rows in ``files`` files (plus ``extra`` files that
land later, for incremental runs), one device_config snapshot file per day. A small share
of rows (``dirty``) carries a defect silver quarantines or gold drops, so those paths run too.

Every file is a pure function of (parameters, seed, file number), generated in parallel and
cached under ``$LAKEHOUSE_BENCH_DATA`` (default ``~/.cache/lakehouse-bench``) in a folder
named by the parameters, so a rerun finds the data already there. ``MANIFEST.json`` counts
what was written (rows per file, defects by kind) independently of the library.

Two change files hold 1% of the clean usage keys again with new values (scenario f):
``spread`` (every 100th row, all over the table) and ``clustered`` (the latest 1% of rows).
"""

from __future__ import annotations

import functools
import gzip
import json
import os
import random
import shutil
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

GENERATOR_VERSION = 1
HEADER = "device_id,event_ts,app,cpu_pct,mem_mb,battery_pct,network,owner_email,firmware"
APPS = ("chrome", "slack", "teams", "outlook", "spotify", "zoom", "vscode", "excel")
NETWORKS = ("wifi", "wifi", "wifi", "4g", "5g", "offline")
MODELS = ("TX-100", "TX-200", "TX-300")
OS_VERSIONS = ("14.1", "14.2", "15.0")
POWER_TOKENS = ("yes", "no", "1", "0", "true", "false")
ORIGIN = datetime(2026, 11, 1)
SPAN_DAYS = 7
# Defects by what happens to the row: quarantined by silver, dropped by gold, or kept.
QUARANTINED = ("bad_cpu", "cpu_over_max", "bad_device_id", "bad_timestamp", "duplicate")
DROPPED = ("negative_mem",)
KEPT = ("battery_null_token",)
DEFECTS = QUARANTINED + DROPPED + KEPT
CHANGE_LAYOUTS = ("spread", "clustered")
CONFIG_FIELDS = ("os_version", "model", "power_saving", "brightness_pct", "apps_installed")


@dataclass(frozen=True)
class Spec:
    """What to generate; every field is part of the cache key."""

    rows: int
    files: int
    extra: int = 1
    seed: int = 20261101
    dirty: float = 0.002

    def __post_init__(self) -> None:
        if self.rows < self.files or self.files < 1:
            raise ValueError(f"need at least one row per file: rows={self.rows} files={self.files}")
        if not 0 <= self.dirty < 0.05:
            raise ValueError(f"dirty must be in [0, 0.05), got {self.dirty}")

    @property
    def key(self) -> str:
        dirty = f"{self.dirty:g}".replace(".", "p")
        return f"v{GENERATOR_VERSION}-r{self.rows}-f{self.files}-x{self.extra}-s{self.seed}-d{dirty}"

    @property
    def rows_per_file(self) -> int:
        return self.rows // self.files

    @functools.cached_property
    def devices(self) -> int:
        return max(10, min(10_000, self.rows // 100))

    @functools.cached_property
    def step_seconds(self) -> int:
        """Seconds between a device's consecutive events (base rows span SPAN_DAYS days)."""
        slots = -(-self.rows // self.devices)
        return max(1, SPAN_DAYS * 86_400 // slots)

    def file_rows(self, index: int) -> int:
        """Clean-row count of file ``index`` (the last base file takes the remainder)."""
        if index == self.files - 1:
            return self.rows - self.rows_per_file * (self.files - 1)
        return self.rows_per_file


def data_root() -> Path:
    """Where generated data is cached (``$LAKEHOUSE_BENCH_DATA`` or ~/.cache/lakehouse-bench)."""
    return Path(os.environ.get("LAKEHOUSE_BENCH_DATA") or Path.home() / ".cache" / "lakehouse-bench")


_DAYS = [(ORIGIN + timedelta(days=d)).strftime("%Y-%m-%d") for d in range(4 * SPAN_DAYS)]


def _timestamp(seconds: int) -> str:
    """``yyyy-MM-dd HH:mm:ss`` of ORIGIN + seconds (formatted by hand: strftime is slow)."""
    day, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3600)
    return f"{_DAYS[day]} {hours:02d}:{rest // 60:02d}:{rest % 60:02d}"


def _row(rng: random.Random, spec: Spec, g: int) -> list[str]:
    devices, step = spec.devices, spec.step_seconds
    draw = rng.random
    device = g % devices + 1
    cpu = int(draw() * 1000)
    return [
        f"dev-{device:05d}",
        _timestamp((g // devices) * step + int(draw() * step)),
        APPS[int(draw() * len(APPS))],
        f"{cpu // 10}.{cpu % 10}",
        str(128 + int(draw() * 8065)),
        str(int(draw() * 101)),
        NETWORKS[int(draw() * len(NETWORKS))],
        f"owner{device:05d}@example.com",
        f"fw-3.{g % 3}.{g % 10}",
    ]


def _spoil(fields: list[str], kind: str) -> None:
    column, value = {
        "bad_cpu": (3, "abc"),
        "cpu_over_max": (3, "140.0"),
        "bad_device_id": (0, fields[0][:6] + "a" + fields[0][7:]),
        "bad_timestamp": (1, "2026-13-45 99:00:00"),
        "negative_mem": (4, "-1"),
        "battery_null_token": (5, "NA"),
    }[kind]
    fields[column] = value


def _changed(rng: random.Random, fields: list[str]) -> str:
    """The same key with new measurements (cpu_pct always differs)."""
    cpu = (int(fields[3].replace(".", "")) + 1 + rng.randrange(998)) % 1000
    new = [*fields[:2], rng.choice(APPS), f"{cpu // 10}.{cpu % 10}", str(rng.randrange(128, 8193))]
    return ",".join([*new, str(rng.randrange(101)), rng.choice(NETWORKS), *fields[7:]])


def _write_file(args: tuple[Spec, int, str]) -> dict:
    """Write usage file ``index``; return its manifest entry and its rows for the change files."""
    spec, index, out = args
    rng = random.Random(f"{spec.seed}-usage-{index}")
    first = index * spec.rows_per_file
    count = spec.file_rows(index) if index < spec.files else spec.rows_per_file
    lines, defects = [HEADER], Counter[str]()
    changes: dict[str, list[str]] = {layout: [] for layout in CHANGE_LAYOUTS}
    clustered_from = spec.rows - spec.rows // 100
    for g in range(first, first + count):
        fields = _row(rng, spec, g)
        kind = rng.choice(DEFECTS) if rng.random() < spec.dirty else None
        if kind is None and index < spec.files:
            if g % 100 == 0:
                changes["spread"].append(_changed(rng, fields))
            if g >= clustered_from:
                changes["clustered"].append(_changed(rng, fields))
        if kind and kind != "duplicate":
            _spoil(fields, kind)
        lines.append(",".join(fields))
        if kind:
            defects[kind] += 1
            if kind == "duplicate":
                lines.append(lines[-1])
    day = _row(random.Random(f"{spec.seed}-usage-{index}"), spec, first)[1][:10]
    folder = "usage" if index < spec.files else "extra/usage"
    path = f"{folder}/{day}/usage-{day}-{index:05d}.csv.gz"
    target = Path(out) / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode(), compresslevel=6, mtime=0))
    return {"path": path, "rows": len(lines) - 1, "defects": dict(defects), "changes": changes}


def _device_config(spec: Spec, out: Path) -> dict:
    """One JSON-lines snapshot file per day; about 2% of devices upgrade their os each day."""
    rng = random.Random(f"{spec.seed}-device_config")
    state: dict[int, dict[str, Any]] = {}
    for device in range(1, spec.devices + 1):
        values = (  # drawn in field order, so the data of a seed never changes
            rng.choice(OS_VERSIONS),
            rng.choice(MODELS),
            rng.choice(POWER_TOKENS),
            rng.randrange(10, 101),
            sorted(rng.sample(APPS, rng.randrange(2, 6))),
        )
        state[device] = dict(zip(CONFIG_FIELDS, values, strict=True))
    rows = upgrades = 0
    for day_number in range(SPAN_DAYS):
        day = (ORIGIN + timedelta(days=day_number)).strftime("%Y-%m-%d")
        lines = []
        for device, config in state.items():
            if day_number and rng.random() < 0.02:
                config["os_version"] = f"{float(config['os_version']) + 0.1:.1f}"
                upgrades += 1
            minute = device % 1440
            ts = f"{day} {minute // 60:02d}:{minute % 60:02d}:00"
            lines.append(json.dumps({"device_id": f"dev-{device:05d}", "snapshot_ts": ts, **config}))
        target = out / "device_config" / day / f"config-{day}.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("\n".join(lines) + "\n")
        rows += len(lines)
    return {"rows": rows, "files": SPAN_DAYS, "os_upgrades": upgrades}


def _write_changes(entries: list[dict], out: Path) -> dict[str, int]:
    counts = {}
    for layout in CHANGE_LAYOUTS:
        lines = [line for e in entries for line in e["changes"][layout]]
        target = out / "changes" / layout / "usage" / "changes" / f"usage-change-{layout}.csv.gz"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(gzip.compress(("\n".join([HEADER, *lines]) + "\n").encode(), mtime=0))
        counts[layout] = len(lines)
    for entry in entries:
        del entry["changes"]
    return counts


def generate(spec: Spec, root: Path | None = None, workers: int | None = None) -> Path:
    """Return the folder holding ``spec``'s data, generating it first unless cached."""
    folder = (root or data_root()) / spec.key
    if (folder / "MANIFEST.json").is_file():
        return folder
    tmp = folder.with_name(folder.name + f".tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    jobs = [(spec, i, str(tmp)) for i in range(spec.files + spec.extra)]
    workers = workers or min(2, os.cpu_count() or 1)
    if workers > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(workers) as pool:
            entries = list(pool.map(_write_file, jobs, chunksize=max(1, len(jobs) // (8 * workers))))
    else:
        entries = [_write_file(job) for job in jobs]
    changes = _write_changes(entries, tmp)
    manifest = _manifest(spec, entries, changes, _device_config(spec, tmp))
    (tmp / "MANIFEST.json").write_text(json.dumps(manifest, indent=1) + "\n")
    try:
        tmp.rename(folder)
    except OSError:  # generated concurrently by another process: keep theirs
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


def _manifest(spec: Spec, entries: list[dict], changes: dict[str, int], config: dict) -> dict:
    base, extra = entries[: spec.files], entries[spec.files :]
    defects = Counter[str]()
    for entry in base:
        defects.update(entry["defects"])
    return {
        "generator": "benchmarks/generate.py",
        "spec": asdict(spec),
        "usage": {
            "files": [e["path"] for e in base],
            "rows": sum(e["rows"] for e in base),
            "defects": dict(sorted(defects.items())),
            "quarantined": sum(defects[k] for k in QUARANTINED),
            "dropped": sum(defects[k] for k in DROPPED),
        },
        "extra": [{"path": e["path"], "rows": e["rows"], "defects": e["defects"]} for e in extra],
        "changes": changes,
        "device_config": config,
    }


def load_manifest(folder: Path) -> dict:
    return json.loads((folder / "MANIFEST.json").read_text())


def main(argv: list[str] | None = None) -> int:
    """``python -m benchmarks generate``: generate (or find cached) data and print its folder."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m benchmarks generate", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--extra", type=int, default=1)
    parser.add_argument("--seed", type=int, default=Spec.seed)
    parser.add_argument("--dirty", type=float, default=Spec.dirty)
    args = parser.parse_args(argv)
    spec = Spec(rows=args.rows, files=args.files, extra=args.extra, seed=args.seed, dirty=args.dirty)
    folder = generate(spec)
    usage = load_manifest(folder)["usage"]
    print(f"{folder}: {usage['rows']:,} usage rows in {spec.files:,} files")
    return 0
