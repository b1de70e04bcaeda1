"""Launch one measured job in a fresh process and turn what it reports into a JSON record.

Rows are counted from the Delta commits the job made (``deltalog``), the same way for the
library and the baselines; the job's own timings come from ``benchmarks.job``.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks import deltalog

REPO = Path(__file__).resolve().parents[1]
PIPELINE = REPO / "conf" / "pipelines" / "devices.yml"


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def versions() -> dict[str, str | None]:
    def dist(name: str) -> str | None:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return None

    import lakehouse

    java = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr.splitlines()
    return {
        "lakehouse": lakehouse.__version__,
        "git": _git_commit(),
        "pyspark": dist("pyspark"),
        "delta_spark": dist("delta-spark"),
        "python": platform.python_version(),
        "java": java[0] if java else None,
    }


def machine() -> dict[str, Any]:
    model = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        mem_kb = 0
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": model,
        "memory_gib": round(mem_kb / 1024**2, 1),
        "os": f"{platform.system()} {platform.release()}",
    }


@dataclass
class Runner:
    """Runs jobs for one invocation and appends every record to ``results``."""

    results: Path
    workdir: Path
    mode: str
    spark_conf: dict[str, str]
    echo: bool = True
    spark: Any = None  # a shared session: jobs run in this process (--quick, the smoke test)
    invocation: str = field(default_factory=lambda: datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ"))
    _context: dict[str, Any] = field(default_factory=dict)
    _count: int = 0

    def __post_init__(self) -> None:
        self._context = {"versions": versions(), "machine": machine()}

    def _env(self, extra: dict[str, str] | None) -> dict[str, str]:
        env = dict(os.environ)
        env.setdefault("LAKEHOUSE_PII_SALT", "benchmark-salt")
        env.update(
            {
                "LAKEHOUSE_LOG_FORMAT": "json",
                "SPARK_LOCAL_IP": "127.0.0.1",
                "PYSPARK_PYTHON": sys.executable,
                "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
            }
        )
        env.update(extra or {})
        return env

    def launch(
        self,
        job: str,
        params: dict[str, Any],
        *,
        session: str = "lakehouse",
        env: dict[str, str] | None = None,
        fresh: bool = False,
    ) -> dict[str, Any]:
        """Run ``job`` in a new Python process with its own Spark session; return its report.

        With a shared session (``self.spark``) the job runs in this process on it instead,
        unless ``fresh`` (the session-start scenario always needs a new process).
        """
        self._count += 1
        folder = self.workdir / "jobs" / f"{self._count:03d}-{job}"
        folder.mkdir(parents=True, exist_ok=True)
        request = {
            "job": job,
            "params": params,
            "pipeline": str(PIPELINE),
            "session": session,
            "spark_conf": self.spark_conf,
        }
        (folder / "request.json").write_text(json.dumps(request, indent=1))
        if self.spark is not None and not fresh:
            from benchmarks.job import run_in_process

            os.environ.setdefault("LAKEHOUSE_PII_SALT", "benchmark-salt")
            with (folder / "log.txt").open("w") as log, contextlib.redirect_stderr(log):
                return _checked(job, run_in_process(self.spark, request))
        with (folder / "log.txt").open("w") as log:
            code = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "benchmarks.job",
                    str(folder / "request.json"),
                    str(folder / "result.json"),
                ],
                cwd=REPO,
                env=self._env(env),
                stdout=log,
                stderr=subprocess.STDOUT,
            ).returncode
        result_file = folder / "result.json"
        if code != 0 or not result_file.is_file():
            tail = (folder / "log.txt").read_text(errors="replace").splitlines()[-25:]
            raise RuntimeError(
                f"job {job} failed (exit {code}); log {folder / 'log.txt'}:\n" + "\n".join(tail)
            )
        return _checked(job, json.loads(result_file.read_text()))

    def measure(
        self,
        job: str,
        params: dict[str, Any],
        *,
        scenario: str,
        variant: str,
        parameters: dict[str, Any],
        tables: dict[str, Path] | None = None,
        rows_from: tuple[str, ...] = (),
        rows: int | None = None,
        repeat: int = 0,
        commit_detail: tuple[str, ...] = (),
        session: str = "lakehouse",
        env: dict[str, str] | None = None,
        fresh: bool = False,
    ) -> dict[str, Any]:
        """Run a job, count rows from the Delta commits it made, append and print the record.

        The record's ``rows``: as given, else the rows the job added to the ``rows_from``
        tables, else the job's own count.
        """
        tables = tables or {}
        before = {label: deltalog.version(path) for label, path in tables.items()}
        load_start = os.getloadavg()
        started = datetime.now(timezone.utc).isoformat(timespec="seconds")
        wall = time.perf_counter()
        report = self.launch(job, params, session=session, env=env, fresh=fresh)
        wall = time.perf_counter() - wall
        commits = {label: deltalog.commits(path, before[label]) for label, path in tables.items()}
        counts = {label: deltalog.rows_written(path, before[label]) for label, path in tables.items()}
        if rows is None and rows_from:
            rows = sum(counts[label] for label in rows_from)
        elif rows is None:
            rows = int((report.get("outcome") or {}).get("rows", 0))
        seconds = float(report["seconds"])
        peak = report.get("peak_rss_mb") or {}
        record = {
            "scenario": scenario,
            "variant": variant,
            "parameters": parameters,
            "rows": rows,
            "seconds": round(seconds, 3),
            "rows_per_s": round(rows / seconds, 1) if seconds > 0 else None,
            "session_start_s": round(report["session_s"], 3),
            "import_s": round(report["import_s"], 3),
            "process_s": round(wall, 3),
            "peak_rss_mb": round((peak.get("jvm") or 0) + (peak.get("python") or 0), 1),
            "peak_rss_detail_mb": peak,
            "steps": {k: round(v, 3) for k, v in ((report.get("outcome") or {}).get("steps") or {}).items()},
            "counts": counts,
            "commits": {label: [_commit_summary(c) for c in commits[label]] for label in commit_detail},
            "outcome": {k: v for k, v in (report.get("outcome") or {}).items() if k != "steps"},
            "repeat": repeat,
            "load_avg": {
                "start": [round(x, 2) for x in load_start],
                "end": [round(x, 2) for x in os.getloadavg()],
            },
            "cpu_count": os.cpu_count(),
            "started_at": started,
            "invocation": self.invocation,
            "mode": self.mode,
            "shared_session": self.spark is not None and not fresh,
            **self._context,
        }
        self.append(record)
        return record

    def append(self, record: dict[str, Any]) -> None:
        self.results.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(record, default=str)
        with self.results.open("a") as handle:
            handle.write(line + "\n")
        if self.echo:
            print(line, flush=True)


def _checked(job: str, report: dict[str, Any]) -> dict[str, Any]:
    outcome = report.get("outcome") or {}
    if outcome.get("status") not in (None, "succeeded"):
        raise RuntimeError(f"job {job} finished with status {outcome['status']}: {outcome.get('error')}")
    return report


def _commit_summary(commit: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": commit.get("version"),
        "operation": commit.get("operation"),
        "metrics": commit.get("operationMetrics") or {},
    }
