"""`lakehouse report`, the pure parts (issue 13 part 4): the conservation table, the charts and the
page's escaping, on hand-written ledger rows; no Spark. The page as a browser shows it, from a
real pipeline, is tests/test_report_browser.py."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import pytest

from lakehouse.cli import main
from lakehouse.report.charts import BOTTOM, HEIGHT, TOP, bars, lines
from lakehouse.report.conservation import MISMATCH, OK, UNVERIFIED, conservation
from lakehouse.report.page import render


def _row(
    dataset: str, layer: str, read: int, written: int, status: str = "succeeded", **more: Any
) -> dict[str, Any]:
    return {"run_id": "r1", "dataset": dataset, "layer": layer, "status": status, "rows_read": read,
            "rows_written": written, "rows_quarantined": 0, "rows_dropped": 0, "bad_files": None,
            "counts": None, "error": None, **more}  # fmt: skip


def _checks(table: list[dict[str, Any]]) -> dict[tuple[str, str], str]:
    return {(c["dataset"], c["layer"]): c["check"] for c in table}


def test_balanced_layers_check_and_a_lost_row_is_a_mismatch() -> None:
    rows = [
        _row("usage", "bronze", 10, 10, bad_files=2),
        _row("usage", "silver", 10, 7, rows_quarantined=3),
        _row("usage", "gold", 7, 6, rows_dropped=1),
        _row("lossy", "silver", 10, 7, rows_quarantined=2),  # one row went nowhere
        _row("lossy", "gold", 7, 5, rows_dropped=1),  # append: one row went nowhere
    ]
    table = conservation(rows, {"usage": "merge", "lossy": "append"})
    assert _checks(table) == {
        ("usage", "bronze"): OK,
        ("usage", "silver"): OK,
        ("usage", "gold"): OK,
        ("lossy", "silver"): MISMATCH,
        ("lossy", "gold"): MISMATCH,
    }
    silver = next(c for c in table if (c["dataset"], c["layer"]) == ("lossy", "silver"))
    assert (silver["read"], silver["parts"], silver["accounted"], silver["difference"]) == (
        10,
        {"written": 7, "quarantined": 2},
        9,
        1,
    )
    assert "2 bad file(s) set aside" in table[0]["note"]


def test_change_feed_buckets_merge_no_ops_scd2_and_unfinished_layers() -> None:
    buckets = {"inserted": 3, "updated": 2, "deleted": 1, "stale": 1, "duplicate": 1, "no_op": 1}
    rows = [
        _row("cdc", "gold", 10, 5, rows_dropped=1, counts=buckets),  # 1 + 9 = 10
        _row("cdc2", "gold", 10, 5, rows_dropped=1, counts={**buckets, "no_op": 0}),  # 9: lost one
        _row("m", "gold", 10, 8),  # 2 unchanged keys: a merge cannot tell, so unverified
        _row("m2", "gold", 10, 11),  # more written than read by a merge: a mismatch
        _row("h", "gold", 10, 14),  # scd2: 10 opened, 4 closed
        _row("h0", "gold", 0, 0),  # scd2 with nothing new
        _row("f", "bronze", 4, 0, status="failed", error="FileNotFound: <landing>"),
        _row("derived_t", "gold", 20, 3),  # a derived table: not listed
    ]
    modes = {
        "cdc": "merge",
        "cdc2": "scd2",
        "m": "merge",
        "m2": "merge",
        "h": "scd2",
        "h0": "scd2",
        "f": "merge",
    }
    table = conservation(rows, modes)
    assert _checks(table) == {
        ("cdc", "gold"): OK,
        ("cdc2", "gold"): MISMATCH,
        ("m", "gold"): UNVERIFIED,
        ("m2", "gold"): MISMATCH,
        ("h", "gold"): UNVERIFIED,
        ("h0", "gold"): OK,
        ("f", "bronze"): "failed",
    }
    merge = next(c for c in table if c["dataset"] == "m")
    assert merge["note"].startswith("2 row(s) left: unchanged keys")
    failed = next(c for c in table if c["dataset"] == "f")
    assert (failed["parts"], failed["note"]) == ({}, "FileNotFound: <landing>")


HOSTILE = '<script>alert("x")</script>'


def _data(**more: Any) -> dict[str, Any]:
    runs = [{"run_id": "r1", "status": "failed", "started_at": "2026-11-30 05:00:00",
             "finished_at": "2026-11-30 05:01:00"}]  # fmt: skip
    layers = [
        _row(HOSTILE, "bronze", 3, 3),
        _row(HOSTILE, "silver", 3, 2, rows_quarantined=1),
        _row("ok", "bronze", 0, 0, status="failed", error=f"bad file {HOSTILE} & more"),
    ]
    return {
        "pipeline": "p<b>", "env": "local", "as_of": "2026-11-30 06:00:00", "last": 30,
        "targets": [{"dataset": HOSTILE, "layers": ["bronze", "silver"], "derived": False},
                    {"dataset": "ok", "layers": ["bronze"], "derived": False}],
        "runs": runs, "layers": layers,
        "conservation": {"run_id": "r1", "rows": conservation(layers, {})},
        "quarantine": [{"dataset": HOSTILE, "layer": "silver", "table": "t", "rows": 1,
                        "reasons": [{"label": f"cast on {HOSTILE}", "message": "m<i>", "count": 1}]}],
        "expectations": [{"dataset": HOSTILE, "rule": "r'\"", "action": "warn", "batches": 1,
                          "rows_failed": 2, "last_run": "r1"}],
        "freshness": [{"dataset": HOSTILE, "last_success_run": None, "last_success_at": None,
                       "last_success_age": None, "column": "ts<", "table": None, "newest": None,
                       "newest_age": None, "note": "no table yet",
                       "slos": [{"slo": "freshness (ts<)", "status": "BREACH", "measured": "x<y",
                                 "bound": "<= 1h"}]}],
        **more,
    }  # fmt: skip


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_every_value_from_data_is_escaped() -> None:
    page = render(_data())
    parsed = _Collect()
    parsed.feed(page)
    assert "script" not in parsed.tags and parsed.tags.count("b") == 1  # only the env is bold
    assert HOSTILE not in page and "<i>" not in page.replace('<i style="', "")
    text = "".join(parsed.text)
    # the names and the error come through as text, as written
    assert HOSTILE in text and f"bad file {HOSTILE} & more" in text and "m<i>" in text
    assert "lakehouse report: p<b>" in text and "x<y" in text and "r'\"" in text


def test_the_page_is_self_contained() -> None:
    page = render(_data())
    assert not re.search(r"(src|href)\s*=", page, re.I)  # nothing to fetch, no link
    assert "<script" not in page.lower() and "@import" not in page and "url(" not in page
    assert re.findall(r"https?://[^\"' ]+", page) == ["http://www.w3.org/2000/svg"] * page.count("<svg")


def test_no_runs_yet_is_a_page_that_says_so() -> None:
    page = render(_data(runs=[], layers=[], conservation={"run_id": None, "rows": []}))
    assert "No runs of pipeline p&lt;b&gt; recorded yet" in page
    assert "<svg" not in page and page.startswith("<!DOCTYPE html>")


def test_charts_draw_a_mark_per_value_and_leave_gaps_for_none() -> None:
    svg = bars(
        "t", ["a", "b", "c"], ["run a", "run b", "run c"], [("bronze", [5, 0, None]), ("silver", [3, 2, 1])]
    )
    assert svg.count('class="mark"') == 5
    heights = [float(h) for h in re.findall(r'<rect class="mark"[^>]* height="([\d.]+)"', svg)]
    # zero drawn as a 1px bar; 5 rows on an axis of 0..8 (four steps of 2): 5/8 of the plot
    assert min(heights) == 1.0 and max(heights) == round((HEIGHT - TOP - BOTTOM) * 5 / 8, 1)
    assert [t for t in re.findall(r'class="tick"[^>]*>([^<]+)<', svg)][:5] == ["0", "2", "4", "6", "8"]
    assert "run b: bronze 0 rows" in svg
    svg = lines("q", ["a", "b", "c"], ["a", "b", "c"], [("usage", [10.0, None, 20.0])])
    assert svg.count('class="mark"') == 2 and 'class="line"' not in svg  # the gap breaks the line


def test_report_without_out_or_json_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--config", "nowhere.yml", "--env", ""]) == 2
    assert capsys.readouterr().err == "lakehouse: report needs --out FILE (the HTML page), --json, or both\n"
