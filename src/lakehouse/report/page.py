"""The report page: the gathered data (a JSON-ready dict, see :mod:`lakehouse.report.gather`)
rendered as one self-contained HTML document.

Pure: no I/O, no script, no external reference (styles inline, charts inline SVG), so the page
opens offline, from a mail attachment or in Databricks ``displayHTML``. Every value that comes
from data (dataset names, run ids, rule names, error text) is escaped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any

from lakehouse.report import charts

LAYER_ORDER = ("bronze", "silver", "gold")
_MARKS = {"ok": "✓", "mismatch": "✗ MISMATCH", "unverified": "≈ unverified"}
STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1a202c;margin:0;
background:#f7fafc}
main{max-width:1100px;margin:0 auto;padding:20px 24px 40px}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #e2e8f0;padding-bottom:4px}
h3{font-size:14px;margin:14px 0 4px}.meta{color:#4a5568}
table{border-collapse:collapse;background:#fff;margin:6px 0 10px}
th,td{border:1px solid #e2e8f0;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#edf2f7;font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#276749;font-weight:600}.mismatch,.BREACH,.failed,.abandoned{color:#c53030;font-weight:700}
.unverified,.running,.skipped,.succeeded_with_warnings{color:#975a16;font-weight:600}
.chart{background:#fff;border:1px solid #e2e8f0;max-width:100%;height:auto}
.chart .grid{stroke:#e2e8f0}.chart .tick,.chart .axis{font-size:11px;fill:#4a5568}
.chart .line{stroke-width:2}.legend span{display:inline-block;margin-right:14px}
.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:middle}
.charts{display:flex;flex-wrap:wrap;gap:4px 20px}.note{color:#4a5568;font-size:13px}
code{font-size:13px}
"""


def _e(value: Any) -> str:
    return escape("-" if value is None else str(value), quote=True)


def _num(value: Any) -> str:
    return "-" if value is None else f"{value:,}" if isinstance(value, int) else _e(value)


def _table(header: Sequence[str], rows: Iterable[Sequence[str]], numeric: Sequence[int] = ()) -> str:
    """A table of already escaped cells; ``numeric``: indexes of right-aligned columns."""
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(f'<td class="n">{c}</td>' if i in numeric else f"<td>{c}</td>" for i, c in enumerate(row))
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _state(value: Any) -> str:
    return f'<span class="{_e(value)}">{_e(value)}</span>'


def _legend(names: Sequence[str]) -> str:
    items = (
        f'<span><i style="background:{charts.PALETTE[i % len(charts.PALETTE)]}"></i>{_e(n)}</span>'
        for i, n in enumerate(names)
    )
    return f'<div class="legend">{"".join(items)}</div>'


def _axis(data: Mapping[str, Any]) -> tuple[list[str], list[str], dict[str, int]]:
    runs = data["runs"]
    starts = [r.get("started_at") or "" for r in runs]
    days = {s[:10] for s in starts}
    cut = slice(11, 19) if len(days) == 1 else slice(5, 16)  # one day: the time; else day and minute
    labels = [s[cut] or f"#{i + 1}" for i, s in enumerate(starts)]
    tips = [f"run {r['run_id']} ({r.get('started_at') or 'no start'})" for r in runs]
    return labels, tips, {r["run_id"]: i for i, r in enumerate(runs)}


def _series(data: Mapping[str, Any], dataset: str, layer: str, value: Any) -> list[float | None]:
    _, _, index = _axis(data)
    found: list[float | None] = [None] * len(index)
    for row in data["layers"]:
        if (row["dataset"], row["layer"]) == (dataset, layer) and row["run_id"] in index:
            found[index[row["run_id"]]] = value(row)
    return found


def _rows_section(data: Mapping[str, Any]) -> str:
    labels, tips, _ = _axis(data)
    parts = ["<h2>Rows written per layer per run</h2>", '<div class="charts">']
    for target in data["targets"]:
        layers = [layer for layer in LAYER_ORDER if layer in target["layers"]]
        series = [
            (layer, _series(data, target["dataset"], layer, lambda r: r["rows_written"])) for layer in layers
        ]
        title = f"{target['dataset']}: rows written per layer"
        parts.append(
            f"<div><h3>{_e(target['dataset'])}{' (derived)' if target['derived'] else ''}</h3>"
            + charts.bars(title, labels, tips, series)
            + _legend(layers)
            + "</div>"
        )
    return "".join(parts) + "</div>"


def _rate(row: Mapping[str, Any]) -> float | None:
    read = row.get("rows_read") or 0
    if row["status"] not in ("succeeded", "succeeded_with_warnings") or not read:
        return None
    return round(100.0 * (row.get("rows_quarantined") or 0) / read, 2)


def _quarantine_rate(data: Mapping[str, Any]) -> str:
    labels, tips, _ = _axis(data)
    names = [t["dataset"] for t in data["targets"] if "silver" in t["layers"]]
    series = [(n, _series(data, n, "silver", _rate)) for n in names]
    head = "<h2>Quarantine rate over time</h2>"
    if not any(v is not None for _, vs in series for v in vs):
        return head + '<p class="note">No silver layer read rows in these runs.</p>'
    note = '<p class="note">Silver rows quarantined / rows read, per run that read rows.</p>'
    return head + note + charts.lines("silver quarantine rate per run", labels, tips, series) + _legend(names)


def _failing(data: Mapping[str, Any]) -> str:
    out = [
        "<h2>Top failing rules and expectations</h2>",
        "<h3>Quarantine reasons (rows in the quarantine tables)</h3>",
    ]
    reasons = [(q, r) for q in data["quarantine"] for r in q["reasons"]]
    reasons.sort(key=lambda p: -p[1]["count"])
    if reasons:
        rows = [
            [_e(q["dataset"]), _e(q["layer"]), _e(r["label"]), _e(r["message"]), _num(r["count"])]
            for q, r in reasons[:20]
        ]
        out.append(_table(["dataset", "layer", "reason", "message", "rows"], rows, numeric=[4]))
    else:
        out.append('<p class="note">No row is in quarantine.</p>')
    out.append("<h3>Gold expectations that failed (in these runs)</h3>")
    failed = data["expectations"]
    if failed:
        rows = [
            [
                _e(x["dataset"]),
                _e(x["rule"]),
                _e(x["action"]),
                _num(x["batches"]),
                _num(x["rows_failed"]),
                _e(x["last_run"]),
            ]
            for x in failed
        ]
        out.append(
            _table(
                ["dataset", "expectation", "action", "failed batches", "rows failed", "last failed run"],
                rows,
                numeric=[3, 4],
            )
        )
    else:
        out.append('<p class="note">No expectation failed in these runs.</p>')
    return "".join(out)


def _freshness(data: Mapping[str, Any]) -> str:
    rows = []
    for f in data["freshness"]:
        slos = (
            "<br>".join(
                f"{_e(s['slo'])}: {_state(s['status'])} ({_e(s['measured'])}, bound {_e(s['bound'])})"
                for s in f["slos"]
            )
            or "none declared"
        )
        newest = (
            "-"
            if f["column"] is None
            else f"{_e(f['column'])} = {_e(f['newest'] or f['note'])} ({_e(f['newest_age'])})"
        )
        rows.append(
            [
                _e(f["dataset"]),
                _e(f["last_success_run"]),
                _e(f["last_success_at"]),
                _e(f["last_success_age"]),
                newest,
                slos,
            ]
        )
    return "<h2>Freshness</h2>" + _table(
        ["dataset", "last successful run", "ended (UTC)", "age", "newest event", "SLOs"], rows
    )


def _parts(parts: Mapping[str, int]) -> str:
    return " + ".join(f"{_num(n)} {_e(k.replace('_', '-'))}" for k, n in parts.items()) or "-"


def _conservation(data: Mapping[str, Any]) -> str:
    found = data["conservation"]
    checks = [c["check"] for c in found["rows"]]
    tally = ", ".join(
        f"{checks.count(k)} {_e(_MARKS[k])}" for k in _MARKS if checks.count(k) or k != "unverified"
    )
    state = next((r["status"] for r in data["runs"] if r["run_id"] == found["run_id"]), None)
    head = (
        f"<h2>Conservation in the last run <code>{_e(found['run_id'])}</code> ({_state(state)}): {tally}</h2>"
    )
    rows = []
    for c in found["rows"]:
        mark = _MARKS.get(c["check"], c["check"])
        accounted = "-" if not c["parts"] else _num(c["accounted"])
        check = f'<span class="{_e(c["check"])}">{_e(mark)}</span>'
        rows.append([_e(c["dataset"]), _e(c["layer"]), _state(c["status"]), _num(c["read"]),
                     _parts(c["parts"]), accounted, check, _e(c["note"]) if c["note"] else ""])  # fmt: skip
    note = (
        '<p class="note">Each layer\'s rows read against where they went. Derived tables (SQL over '
        "several inputs) have no row-for-row balance and are not listed.</p>"
    )
    return (
        head
        + note
        + _table(
            ["dataset", "layer", "state", "read", "went to", "accounted", "check", "note"],
            rows,
            numeric=[3, 5],
        )
    )


def _runs(data: Mapping[str, Any]) -> str:
    rows = [
        [_e(r["run_id"]), _state(r["status"]), _e(r["started_at"]), _e(r["finished_at"])]
        for r in reversed(data["runs"])
    ]
    return "<h2>Runs (newest first)</h2>" + _table(["run", "state", "started (UTC)", "finished (UTC)"], rows)


def _document(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{_e(title)}</title><style>{STYLE}</style></head><body><main>{body}</main></body></html>\n"
    )


def render(data: Mapping[str, Any]) -> str:
    """The page for ``data``; a pipeline without recorded runs gets a page that says so."""
    title = f"lakehouse report: {data['pipeline']}"
    head = (
        f'<h1>{_e(title)}</h1><p class="meta">env <b>{_e(data["env"])}</b> · as of {_e(data["as_of"])} UTC · '
        f"last {len(data['runs'])} run(s) (at most {_e(data['last'])})</p>"
    )
    if not data["runs"]:
        return _document(
            title,
            head + f'<p class="empty">No runs of pipeline {_e(data["pipeline"])} recorded yet: '
            "run <code>lakehouse run</code> first.</p>",
        )
    sections = [
        _conservation(data),
        _rows_section(data),
        _quarantine_rate(data),
        _failing(data),
        _freshness(data),
        _runs(data),
    ]
    return _document(title, head + "".join(sections))
