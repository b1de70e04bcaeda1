"""Tables and targets from results files; ``python -m benchmarks report`` rewrites the README part.

Medians over repetitions; seconds are the job alone (the session start is shown apart).
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from benchmarks.plan import TITLES

HERE = Path(__file__).resolve().parent
README = HERE / "README.md"
PLOT = HERE / "results" / "latest.png"
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"
GROUP_KEY = {
    "session": lambda p: "",
    "a": lambda p: p["usage_rows"],
    "b": lambda p: p["usage_rows"],
    "c": lambda p: p["usage_rows"],
    "d": lambda p: p["k_files"],
    "e": lambda p: p["rules"],
    "f": lambda p: p["mode"],
}
Records = dict[tuple[str, Any, str], list[dict[str, Any]]]


def load(paths: Iterable[Path]) -> list[dict[str, Any]]:
    records = []
    for path in paths:
        for line in path.read_text().splitlines():
            if line.strip():
                records.append(json.loads(line))
    return records


def group(records: list[dict[str, Any]]) -> Records:
    out: Records = defaultdict(list)
    for r in records:
        out[(r["scenario"], GROUP_KEY[r["scenario"]](r["parameters"]), r["variant"])].append(r)
    return out


def median(rows: list[dict[str, Any]], field: str | Callable[[dict[str, Any]], float] = "seconds") -> float:
    get = field if callable(field) else (lambda r: r[field])
    return statistics.median(get(r) for r in rows)


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s" if value >= 10 else f"{value:.2f} s"


def _ratio(a: float | None, b: float | None) -> str:
    return "-" if a is None or not b else f"{a / b:.2f}"


def _runs(rows: list[dict[str, Any]]) -> str:
    return ", ".join(f"{r['seconds']:.1f}" for r in rows)


def _med(groups: Records, scenario: str, key: Any, variant: str, field: Any = "seconds") -> float | None:
    rows = groups.get((scenario, key, variant))
    return median(rows, field) if rows else None


def _keys(groups: Records, scenario: str) -> list[Any]:
    return sorted({k for s, k, _ in groups if s == scenario})


def session_table(groups: Records) -> list[str]:
    lines = [
        "| session | start (median) | first job after start | imports | whole process | runs (start) |",
        "|---|---:|---:|---:|---:|---|",
    ]
    names = {
        "pyspark": "plain pyspark, no Delta (JVM alone)",
        "lakehouse": "`get_spark()` with the remembered jar list",
        "lakehouse_no_jar_list": "`get_spark()` resolving Delta's jars with Ivy",
    }
    for variant, label in names.items():
        rows = groups.get(("session", "", variant))
        if rows:
            starts = ", ".join(f"{r['session_start_s']:.1f}" for r in rows)
            lines.append(
                f"| {label} | {_s(median(rows, 'session_start_s'))} | {_s(median(rows))} "
                f"| {_s(median(rows, 'import_s'))} | {_s(median(rows, 'process_s'))} | {starts} |"
            )
    return lines


def first_run_table(groups: Records) -> list[str]:
    lines = [
        "| usage rows | library | hand-written medallion | plain one-table load | library / hand-written "
        "| library / plain load | library rows/s | peak driver RSS (lib / hand / plain) |",
        "|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for key in _keys(groups, "a"):
        lib, hand, plain = (_med(groups, "a", key, v) for v in ("library", "handwritten", "plain_load"))
        rss = " / ".join(
            f"{_med(groups, 'a', key, v, 'peak_rss_mb') or 0:.0f}"
            for v in ("library", "handwritten", "plain_load")
        )
        rate = _med(groups, "a", key, "library", "rows_per_s")
        lines.append(
            f"| {key:,} | {_s(lib)} | {_s(hand)} | {_s(plain)} | {_ratio(lib, hand)} | {_ratio(lib, plain)} "
            f"| {rate or 0:,.0f} | {rss} MiB |"
        )
    return lines


def steps_table(groups: Records, scenario: str) -> list[str]:
    """Where the time goes, per layer (largest size of the scenario), library and hand-written."""
    keys = _keys(groups, scenario)
    if not keys:
        return []
    key = keys[-1]
    steps: dict[str, dict[str, float]] = {}
    for variant in ("library", "handwritten"):
        for row in groups.get((scenario, key, variant), []):
            for step, seconds in row["steps"].items():
                steps.setdefault(step, {}).setdefault(variant, 0.0)
                steps[step][variant] += seconds / len(groups[(scenario, key, variant)])
    lines = [f"| step ({scenario}, {key:,}) | library | hand-written |", "|---|---:|---:|"]
    for step, by in steps.items():
        lines.append(f"| {step} | {_s(by.get('library'))} | {_s(by.get('handwritten'))} |")
    return lines


def pair_table(groups: Records, scenario: str, key_label: str) -> list[str]:
    lines = [
        f"| {key_label} | library | runs | hand-written | runs | library / hand-written |",
        "|---:|---:|---|---:|---|---:|",
    ]
    for key in _keys(groups, scenario):
        lib, hand = (groups.get((scenario, key, v), []) for v in ("library", "handwritten"))
        lm, hm = (median(rows) if rows else None for rows in (lib, hand))
        label = f"{key:,}" if isinstance(key, int) else str(key)
        lines.append(f"| {label} | {_s(lm)} | {_runs(lib)} | {_s(hm)} | {_runs(hand)} | {_ratio(lm, hm)} |")
    return lines


def merge_table(groups: Records) -> list[str]:
    lines = [
        "| mode | variant | seconds | changed keys | files before | files holding changed keys "
        "| files removed | files added | rows copied | rows updated | rows inserted |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for key in _keys(groups, "f"):
        for variant in ("library", "handwritten"):
            for row in groups.get(("f", key, variant), []):
                m, p = merged_metrics(row), row["parameters"]
                cells = [
                    key,
                    variant,
                    _s(row["seconds"]),
                    f"{p['changed_keys']:,}",
                    p["files_before"],
                    p["files_holding_changed_keys"],
                    m["numTargetFilesRemoved"],
                    m["numTargetFilesAdded"],
                    f"{m['numTargetRowsCopied']:,}",
                    f"{m['numTargetRowsUpdated']:,}",
                    f"{m['numTargetRowsInserted']:,}",
                ]
                lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return lines


def merged_metrics(row: dict[str, Any]) -> dict[str, int]:
    names = (
        "numTargetFilesRemoved",
        "numTargetFilesAdded",
        "numTargetRowsCopied",
        "numTargetRowsUpdated",
        "numTargetRowsInserted",
    )
    total = dict.fromkeys(names, 0)
    for commit in row.get("commits", {}).get("gold", []):
        for name in names:
            total[name] += int(commit["metrics"].get(name, 0) or 0)
    return total


def markdown(records: list[dict[str, Any]]) -> str:
    from benchmarks.targets import targets

    groups = group(records)
    parts = [machine_line(records), ""]
    sections = [
        ("session", session_table(groups)),
        ("a", [*first_run_table(groups), "", *steps_table(groups, "a")]),
        ("b", pair_table(groups, "b", "usage rows")),
        ("c", pair_table(groups, "c", "usage rows")),
        ("d", [*pair_table(groups, "d", "files already ingested (K)"), "", *steps_table(groups, "d")]),
        ("e", pair_table(groups, "e", "rules")),
        ("f", merge_table(groups)),
    ]
    for scenario, lines in sections:
        if any(s == scenario for s, _, _ in groups):
            title = TITLES[scenario] if scenario == "session" else f"({scenario}) {TITLES[scenario]}"
            parts += [f"### {title}", "", *lines, ""]
    parts += ["### Targets", "", *targets(groups), ""]
    return "\n".join(parts)


def machine_line(records: list[dict[str, Any]]) -> str:
    if not records:
        return "No results."
    first = records[0]
    m, v = first["machine"], first["versions"]
    loads = [r["load_avg"]["start"][0] for r in records] + [r["load_avg"]["end"][0] for r in records]
    loaded = max(loads) > (m["cpu_count"] or 1)
    invocations = sorted({r["invocation"] for r in records})
    # Results of several invocations may come from different commits: name each one.
    commits = ", ".join(dict.fromkeys(r["versions"]["git"] for r in records))
    return (
        f"Measured {', '.join(invocations)} ({', '.join(sorted({r['mode'] for r in records}))}) on "
        f"{m['cpu_count']} x {m['cpu_model']}, {m['memory_gib']} GiB, {m['os']}; "
        f"lakehouse {v['lakehouse']} (git {commits}), pyspark {v['pyspark']}, "
        f"delta-spark {v['delta_spark']}, Python {v['python']}, {v['java']}. "
        "1-minute load average during the runs: "
        f"{min(loads):.1f} to {max(loads):.1f}"
        + (" — **a loaded, shared machine: read the ratios, not the absolute seconds.**" if loaded else ".")
    )


def latest_results(folder: Path) -> list[Path]:
    files = sorted(p for p in folder.glob("*.jsonl") if not p.name.endswith("-smoke.jsonl"))
    if not files:
        raise SystemExit(f"no results in {folder}: run `python -m benchmarks` first")
    return [files[-1]]


def update_readme(text: str, readme: Path = README) -> None:
    content = readme.read_text()
    if BEGIN not in content or END not in content:
        raise SystemExit(f"{readme} has no {BEGIN} ... {END} section to replace")
    head, rest = content.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    readme.write_text(f"{head}{BEGIN}\n{text}\n{END}{tail}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks report", description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, nargs="+", help="results files (default: the newest)")
    parser.add_argument("--readme", type=Path, default=README)
    parser.add_argument("--plot", type=Path, default=PLOT)
    parser.add_argument("--print", action="store_true", help="print the tables instead of writing files")
    args = parser.parse_args(argv)
    paths = args.results or latest_results(HERE / "results")
    records = load(paths)
    text = markdown(records)
    sources = ", ".join(f"`{p.relative_to(HERE) if p.is_relative_to(HERE) else p}`" for p in paths)
    image = args.plot.resolve().relative_to(args.readme.resolve().parent)
    text += f"\nFrom {sources}.\n\n![benchmarks]({image})\n"
    if args.print:
        print(text)
        return 0
    from benchmarks.plot import plot

    plot(group(records), args.plot)
    update_readme(text, args.readme)
    print(f"wrote {args.readme} and {args.plot}")
    return 0
