"""The targets of issue 10, each judged "reached" or "not yet" from the measured medians."""

from __future__ import annotations

from typing import Any

from benchmarks.plan import TITLES
from benchmarks.report import Records, _keys, _med, merged_metrics


def _verdict(ok: bool) -> str:
    return "**reached**" if ok else "**not yet**"


def _first_run(groups: Records) -> list[str]:
    out = []
    for key in _keys(groups, "a"):
        lib, hand, plain = (_med(groups, "a", key, v) for v in ("library", "handwritten", "plain_load"))
        for label, base, limit in (
            ("hand-written medallion", hand, 1.2),
            ("one-table plain load", plain, 1.8),
        ):
            if lib and base:
                ratio = lib / base
                out.append(
                    f"- (a) {key:,} rows: pipeline / {label} = {ratio:.2f} (target ≤ {limit}): "
                    + _verdict(ratio <= limit)
                )
    return out


def _noop(groups: Records) -> list[str]:
    start = _med(groups, "session", "", "lakehouse", "session_start_s")
    out = []
    for key in _keys(groups, "b"):
        lib = _med(groups, "b", key, "library")
        total = _med(groups, "b", key, "library", lambda r: r["session_start_s"] + r["seconds"])
        hand = _med(groups, "b", key, "handwritten")
        if lib is None or total is None:
            continue
        session = f"; the session itself started in {start:.1f} s" if start else ""
        out.append(
            f"- (b) {key:,} rows: a no-op rerun takes {lib:.1f} s after its session is up{session} "
            f"(target: session start + 5 s, i.e. ≤ 5 s after it; hand-written: {hand or 0:.1f} s): "
            + _verdict(lib <= 5)
        )
    return out


def _increment(groups: Records) -> list[str]:
    out = []
    for key in _keys(groups, "c"):
        inc, first = _med(groups, "c", key, "library"), _med(groups, "a", key, "library")
        if inc and first:
            hand = _hand(_med(groups, "a", key, "handwritten"), _med(groups, "c", key, "handwritten"))
            out.append(
                f"- (c) {key:,} rows: 1 new file costs {inc / first:.2f} times the first run "
                f"(target ≤ 0.25{hand}): {_verdict(inc / first <= 0.25)}"
            )
    return out


def _ends(groups: Records, scenario: str) -> tuple[Any, Any, float, float, float | None, float | None] | None:
    """The smallest and largest key of a scenario with the library's and the baseline's medians."""
    keys = _keys(groups, scenario)
    if len(keys) < 2:
        return None
    low, high = keys[0], keys[-1]
    a, b = _med(groups, scenario, low, "library"), _med(groups, scenario, high, "library")
    if not a or not b:
        return None
    return (
        low,
        high,
        a,
        b,
        _med(groups, scenario, low, "handwritten"),
        _med(groups, scenario, high, "handwritten"),
    )


def _hand(a: float | None, b: float | None) -> str:
    return f"; hand-written: {b / a:.2f}" if a and b else ""


def _history(groups: Records) -> list[str]:
    ends = _ends(groups, "d")
    if ends is None:
        return []
    low, high, a, b, ha, hb = ends
    note = "" if (low, high) == (100, 20_000) else f", measured K = {low:,} and {high:,}, not 100 and 20,000"
    ratio = f"{b / a:.2f} (target ≤ 1.5{_hand(ha, hb)}{note})"
    return [f"- (d) K = {high:,} / K = {low:,} = {ratio}: {_verdict(b / a <= 1.5)}"]


def _rules(groups: Records) -> list[str]:
    ends = _ends(groups, "e")
    if ends is None:
        return []
    low, high, a, b, ha, hb = ends
    return [
        f"- (e) {high} rules / {low} rule = {b / a:.2f} (target ≤ 2{_hand(ha, hb)}): {_verdict(b / a <= 2)}"
    ]


def _merge(groups: Records) -> list[str]:
    out = []
    for key in _keys(groups, "f"):
        for row in groups.get(("f", key, "library"), []):
            p, m = row["parameters"], merged_metrics(row)
            ok = m["numTargetFilesRemoved"] <= p["files_holding_changed_keys"]
            out.append(
                f"- (f) {key}: rewrote {m['numTargetFilesRemoved']} of {p['files_before']} files, "
                f"{p['files_holding_changed_keys']} of which held a changed key; copied "
                f"{m['numTargetRowsCopied']:,} unchanged rows for {p['changed_keys']:,} changed keys "
                f"(target: only the files holding changed keys, where the layout allows): {_verdict(ok)}"
            )
    return out


def targets(groups: Records) -> list[str]:
    judged = {
        "a": _first_run(groups),
        "b": _noop(groups),
        "c": _increment(groups),
        "d": _history(groups),
        "e": _rules(groups),
        "f": _merge(groups),
    }
    lines = [line for found in judged.values() for line in found]
    missing = [f"({s}) {TITLES[s]}" for s, found in judged.items() if not found]
    return lines + ([f"- Not measured in these results: {'; '.join(missing)}."] if missing else [])
