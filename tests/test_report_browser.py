"""`lakehouse report` in a real browser (issue 13 part 4): a real pipeline run twice, the real
report, opened in headless Chromium driven over the DevTools protocol.

Chromium is Debian's ``chromium`` package; when it is missing and this process may install it
(root, apt-get), the module installs it, else it skips saying why. The browser is driven
through ``--remote-debugging-pipe`` (the protocol's JSON messages on file descriptors 3 and 4,
no extra package). From inside the page the test reads what a reader would see: no console
message of level error, no exception, no request at all (the page is self-contained), and
every ``svg.chart`` laid out with a non-zero size and its marks drawn. The screenshot goes to
``reports/report.png``.

The pipeline: ``readings`` (csv; a row that does not cast is quarantined; gold merges by
sensor, a ``drop`` expectation keeps one row out and a ``warn`` one fails on another) and
``alarms`` (json, gold append); run ``r1`` lands a file of each, run ``r2`` a second readings
file (one key seen before), alarms has nothing new.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import select
import shutil
import signal
import subprocess
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lakehouse.cli import main
from lakehouse.config import load_config
from lakehouse.pipeline import run_pipeline

REPO = Path(__file__).resolve().parents[1]
R1 = "sensor,value\ns-1,1.5\ns-2,abc\ns-3,500\ns-4,-2\n"  # s-2 quarantined, s-3 dropped, s-4 warned
R2 = "sensor,value\ns-1,1.5\ns-5,2.5\ns-6,xyz\n"  # s-1 again, s-6 quarantined


@pytest.fixture(scope="module")
def pipeline(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("report")
    (root / "landing/readings").mkdir(parents=True)
    (root / "landing/alarms").mkdir()
    (root / "landing/readings/r1.csv").write_text(R1)
    (root / "landing/alarms/a1.json").write_text('{"code": "E1"}\n{"code": "E2"}\n{"code": "E3"}\n')
    path = root / "p.yml"
    path.write_text(
        textwrap.dedent(f"""
        pipeline: plant
        storage: {{root: "{root / "lake"}", landing: "{root / "landing"}"}}
        datasets:
          readings:
            source: {{format: csv, path: readings, options: {{header: true}}}}
            contract:
              columns: [{{name: sensor, nullable: false}}, {{name: value, type: double}}]
              slo: {{freshness: {{max_age: 1h}}, volume: {{min_rows: 1}}}}
            gold:
              table: readings
              mode: merge
              keys: [sensor]
              expectations:
                - {{name: value_small, rule: "value < 100", action: drop}}
                - {{name: value_positive, rule: "value >= 0", action: warn}}
          alarms:
            source: {{format: json, path: alarms}}
            contract: {{columns: [{{name: code}}]}}
            gold: {{table: alarms, mode: append}}
        """)
    )
    config = load_config(path, None)
    assert run_pipeline(spark, config, run_id="r1").status == "succeeded"
    (root / "landing/readings/r2.csv").write_text(R2)
    assert run_pipeline(spark, config, run_id="r2").status == "succeeded"
    return path


@pytest.fixture(scope="module")
def report(pipeline: Path) -> tuple[Path, dict[str, Any]]:
    """The page the command wrote and the data it printed (``--out`` and ``--json`` together)."""
    out = pipeline.parent / "report.html"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main(["report", "--config", str(pipeline), "--env", "", "--out", str(out), "--json"]) == 0
    return out, json.loads(printed.getvalue())


def _chromium() -> str:
    """Chromium's executable; installed with apt-get when missing and allowed, else a skip."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip("headless Chromium is not installed and cannot be installed here (needs root and "
                    "apt-get): apt-get install --no-install-recommends chromium")  # fmt: skip
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "chromium"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    done = subprocess.run(install, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:  # the package lists may be missing or stale
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, check=False)
        done = subprocess.run(install, env=env, capture_output=True, text=True, check=False)
    found = shutil.which("chromium")
    if done.returncode != 0 or not found:
        pytest.skip(f"installing chromium with apt-get failed: {done.stderr.strip()[-300:]}")
    return found


class Browser:
    """Headless Chromium over ``--remote-debugging-pipe``: one page, its events kept in order."""

    def __init__(self, executable: str, profile: str) -> None:
        self._log = open(Path(profile) / "chromium.log", "w+b")  # noqa: SIM115 (closed in close())
        to_browser, self._write = os.pipe()
        self._read, from_browser = os.pipe()

        def on_fds_3_and_4() -> None:  # in the child: the pipe ends where Chromium expects them
            ends = (os.dup(to_browser), os.dup(from_browser))
            for fd, end in zip((3, 4), ends, strict=True):
                os.dup2(end, fd)
                os.set_inheritable(fd, True)

        self.process = subprocess.Popen(
            [executable, "--headless=new", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
             f"--user-data-dir={profile}", "--no-first-run", "--hide-scrollbars", "about:blank"],
            preexec_fn=on_fds_3_and_4, close_fds=False, start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=self._log,
        )  # fmt: skip
        os.close(to_browser)
        os.close(from_browser)
        self._buffer, self._id, self.events = b"", 0, []
        self.session: str | None = None

    def send(self, method: str, params: dict[str, Any] | None = None, timeout: float = 60) -> dict[str, Any]:
        self._id += 1
        message: dict[str, Any] = {"id": self._id, "method": method, "params": params or {}}
        if self.session is not None and not method.startswith("Target."):
            message["sessionId"] = self.session
        os.write(self._write, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._next(time.monotonic() + timeout)
            if reply.get("id") == self._id:
                assert "error" not in reply, f"{method}: {reply['error']}"
                return dict(reply["result"])
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 60) -> None:
        end = time.monotonic() + timeout
        while not any(e.get("method") == method for e in self.events):
            self.events.append(self._next(end))

    def _next(self, end: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            ready, _, _ = select.select([self._read], [], [], max(end - time.monotonic(), 0))
            assert ready, "Chromium did not answer in time"
            chunk = os.read(self._read, 1 << 20)
            assert chunk, f"Chromium closed its DevTools pipe; its output: {self.output()[-2000:]}"
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return dict(json.loads(raw))

    def output(self) -> str:
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    def open(self, url: str) -> None:
        """A new page, with the domains whose events the test reads, at ``url`` once loaded."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Runtime", "Log", "Network", "Page"):
            self.send(f"{domain}.enable")
        self.viewport(900)
        self.events.clear()
        self.send("Page.navigate", {"url": url})
        self.wait_for("Page.loadEventFired")

    def viewport(self, height: int) -> None:
        metrics = {"width": 1200, "height": height, "deviceScaleFactor": 1, "mobile": False}
        self.send("Emulation.setDeviceMetricsOverride", metrics)

    def problems(self) -> list[str]:
        """Console errors, uncaught exceptions and every network request of the page."""
        found = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
                found.append(f"console.{params['type']}: {[a.get('value') for a in params['args']]}")
            elif method == "Runtime.exceptionThrown":
                found.append(
                    f"exception: {params['exceptionDetails'].get('exception', {}).get('description')}"
                )
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                found.append(f"log: {params['entry']['text']}")
            elif method == "Network.loadingFailed":
                found.append(f"failed request: {params['errorText']}")
            elif method == "Network.requestWillBeSent" and params.get("type") != "Document":
                found.append(f"request: {params['request']['url']}")
        return found

    def evaluate(self, expression: str) -> Any:
        reply = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        assert "exceptionDetails" not in reply, reply["exceptionDetails"]
        return reply["result"].get("value")

    def screenshot(self, path: Path) -> None:
        """The whole page (not only the viewport) as PNG."""
        size = self.send("Page.getLayoutMetrics")["cssContentSize"]
        self.viewport(int(size["height"]))
        shot = self.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))

    def close(self) -> None:
        with contextlib.suppress(ProcessLookupError):  # the launcher script and its browser
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        os.close(self._write)
        os.close(self._read)
        self._log.close()


@pytest.fixture()
def browser() -> Iterator[Browser]:
    executable = _chromium()
    with tempfile.TemporaryDirectory(prefix="lakehouse-chromium-") as profile:
        opened = Browser(executable, profile)
        try:
            yield opened
        finally:
            opened.close()


# What each chart shows, read from inside the page: its laid-out size and its drawn marks.
CHARTS = """[...document.querySelectorAll('svg.chart')].map(svg => {
  const box = svg.getBoundingClientRect();
  const marks = [...svg.querySelectorAll('.mark')];
  return {label: svg.getAttribute('aria-label'), width: box.width, height: box.height,
          marks: marks.length, drawn: marks.filter(m => {
            const b = m.getBBox(); return b.width > 0 && b.height > 0; }).length};
})"""
CHECKS = """[...document.querySelectorAll('h2')].filter(h => h.textContent.startsWith('Conservation'))
  .map(h => [...h.nextElementSibling.nextElementSibling.querySelectorAll('tbody tr')]
    .map(tr => [...tr.children].map(td => td.textContent)))[0]"""


def test_the_report_renders_in_chromium(report: tuple[Path, dict[str, Any]], browser: Browser) -> None:
    page, _ = report
    browser.open(page.as_uri())
    assert browser.problems() == []
    assert browser.evaluate("performance.getEntriesByType('resource').length") == 0
    charts = {c["label"]: c for c in browser.evaluate(CHARTS)}
    # two runs: three layers each for both datasets' rows; the quarantine rate of readings in
    # both runs and of alarms in r1 (in r2 its silver read nothing)
    assert {label: c["marks"] for label, c in charts.items()} == {
        "readings: rows written per layer": 6,
        "alarms: rows written per layer": 6,
        "silver quarantine rate per run": 3,
    }
    for label, chart in charts.items():
        assert chart["width"] > 300 and chart["height"] > 100, label
        assert chart["drawn"] == chart["marks"], label
    rows = browser.evaluate(CHECKS)
    assert [(r[0], r[1], r[6]) for r in rows] == [
        ("readings", "bronze", "✓"),
        ("readings", "silver", "✓"),
        ("readings", "gold", "✓"),
        ("alarms", "bronze", "✓"),
        ("alarms", "silver", "✓"),
        ("alarms", "gold", "✓"),
    ]
    browser.screenshot(REPO / "reports" / "report.png")
    assert (REPO / "reports" / "report.png").stat().st_size > 20_000


def test_the_browser_check_sees_errors_and_requests(tmp_path: Path, browser: Browser) -> None:
    """The checks above can fail: a page with a console error, an exception and a request."""
    bad = tmp_path / "bad.html"
    bad.write_text(
        "<html><body><img src='http://127.0.0.1:9/x.png'>"
        "<script>console.error('boom'); missing();</script></body></html>"
    )
    browser.open(bad.as_uri())
    found = browser.problems()
    assert any(p.startswith("console.error: ['boom']") for p in found), found
    assert any(p.startswith("exception: ReferenceError: missing is not defined") for p in found), found
    assert any(p == "request: http://127.0.0.1:9/x.png" for p in found), found
    assert any(p.startswith("failed request: ") for p in found), found


def test_the_data_matches_what_the_runs_did(report: tuple[Path, dict[str, Any]]) -> None:
    _, data = report
    assert [r["run_id"] for r in data["runs"]] == ["r1", "r2"]
    written = {(r["run_id"], r["dataset"], r["layer"]): r["rows_written"] for r in data["layers"]}
    assert written[("r1", "readings", "bronze")] == 4 and written[("r2", "readings", "bronze")] == 3
    assert written[("r1", "readings", "silver")] == 3 and written[("r2", "readings", "silver")] == 2
    assert written[("r1", "readings", "gold")] == 2  # s-1 and s-4; s-3 dropped
    # s-5 inserted; s-1 updated: same value, but its lineage columns (file, run) changed
    assert written[("r2", "readings", "gold")] == 2
    assert written[("r2", "alarms", "bronze")] == 0
    conservation = {(c["dataset"], c["layer"]): c for c in data["conservation"]["rows"]}
    assert data["conservation"]["run_id"] == "r2"
    assert conservation[("readings", "silver")]["parts"] == {"written": 2, "quarantined": 1}
    assert conservation[("readings", "gold")]["parts"] == {"written": 2, "dropped": 0}
    silver = next(q for q in data["quarantine"] if (q["dataset"], q["layer"]) == ("readings", "silver"))
    assert [(r["label"], r["count"]) for r in silver["reasons"]] == [("cast on value", 2)]
    gold = next(q for q in data["quarantine"] if (q["dataset"], q["layer"]) == ("readings", "gold"))
    assert [(r["label"], r["count"]) for r in gold["reasons"]] == [("expectation value_small", 1)]
    assert [
        (x["rule"], x["action"], x["batches"], x["rows_failed"], x["last_run"]) for x in data["expectations"]
    ] == [
        ("value_positive", "warn", 1, 1, "r1"),
        ("value_small", "drop", 1, 1, "r1"),
    ]
    fresh = {f["dataset"]: f for f in data["freshness"]}
    assert fresh["readings"]["last_success_run"] == "r2"
    assert [(s["slo"], s["status"]) for s in fresh["readings"]["slos"]] == [
        ("freshness (last run)", "pass"),
        ("volume", "pass"),
    ]
    assert fresh["alarms"]["slos"] == []


def test_a_pipeline_without_runs_gets_a_page_saying_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "p.yml"
    path.write_text(
        f'pipeline: empty\nstorage: {{root: "{tmp_path / "lake"}", landing: "{tmp_path}"}}\n'
        "datasets:\n  a:\n    source: {format: json, path: a}\n    contract: {columns: [{name: code}]}\n"
    )
    out = tmp_path / "r.html"
    assert main(["report", "--config", str(path), "--env", "", "--out", str(out)]) == 0
    assert "No runs of pipeline empty recorded yet" in out.read_text(encoding="utf-8")
    assert "report of 0 run(s) of pipeline empty written to" in capsys.readouterr().out
