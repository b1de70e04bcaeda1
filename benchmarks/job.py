"""One measured job in its own process: start a Spark session, run the job, report.

``python -m benchmarks.job <request.json> <result.json>``. The request names the job (see
``JOBS``) and its parameters. The result holds the job's own outcome plus the timings of this
process: ``import_s`` (pyspark + lakehouse imports), ``session_s`` (building the session,
i.e. the JVM with Delta's jars and extension), ``seconds`` (the job alone, the figure the
benchmarks compare), and the peak resident memory of the driver (JVM ``VmHWM`` + Python).
A fresh process per measured job gives every job the same cold JVM.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

STARTED = time.perf_counter()

Job = Callable[[Any, dict[str, Any]], dict[str, Any]]


def _jobs() -> dict[str, Job]:
    from benchmarks import handwritten, library, plain

    return {
        "library": library.run,
        "files_holding_keys": plain.files_holding_keys_job,
        "plain_load": plain.load_one_table,
        "handwritten": handwritten.run,
        "handwritten_silver_rules": plain.silver_rules,
        "session_probe": plain.first_delta_write,
        "sequence": _sequence,
    }


def _sequence(spark: Any, params: dict[str, Any]) -> dict[str, Any]:
    """Several jobs in one session, in order (untimed preparation of a scenario)."""
    jobs, outcomes = _jobs(), []
    for step in params["steps"]:
        outcome = jobs[step["job"]](spark, step["params"])
        if outcome.get("status") not in (None, "succeeded"):
            raise RuntimeError(f"preparation step {step['job']} failed: {outcome.get('error')}")
        outcomes.append(outcome)
    return {"outcomes": outcomes}


def _jvm_peak_mb(spark: Any) -> float | None:
    """The JVM's peak resident set (``VmHWM``) in MiB, read from /proc (Linux only)."""
    try:
        pid = spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid()
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except Exception:  # not Linux, or the JVM is gone
        return None
    return None


def build_session(request: dict[str, Any]) -> Any:
    """The session every job gets: the library's local session for the pipeline's settings."""
    from lakehouse.config import load_config
    from lakehouse.spark import get_spark

    config = load_config(request["pipeline"], env=request.get("env", "local"))
    return get_spark(config.spark, extra_conf=request.get("spark_conf") or {})


def plain_session(request: dict[str, Any]) -> Any:
    """A bare local session (no Delta): what starting the JVM alone costs."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.master(request.get("master", "local[*]")).appName("bench-plain")
    for key, value in (request.get("spark_conf") or {}).items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def run_in_process(spark: Any, request: dict[str, Any]) -> dict[str, Any]:
    """The same job on an existing session (the smoke test): no import or session cost."""
    start = time.perf_counter()
    outcome = _jobs()[request["job"]](spark, request.get("params") or {})
    seconds = time.perf_counter() - start
    return {
        "job": request["job"],
        "import_s": 0.0,
        "session_s": 0.0,
        "outcome": outcome,
        "seconds": seconds,
        "peak_rss_mb": {
            "jvm": _jvm_peak_mb(spark),
            "python": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        },
        "process_s": seconds,
    }


def main(argv: list[str]) -> int:
    request = json.loads(Path(argv[0]).read_text())
    out: dict[str, Any] = {"job": request["job"]}
    start = time.perf_counter()
    import pyspark  # noqa: F401

    import lakehouse  # noqa: F401

    out["import_s"] = time.perf_counter() - start
    start = time.perf_counter()
    spark = plain_session(request) if request.get("session") == "plain" else build_session(request)
    out["session_s"] = time.perf_counter() - start
    try:
        start = time.perf_counter()
        out["outcome"] = _jobs()[request["job"]](spark, request.get("params") or {})
        out["seconds"] = time.perf_counter() - start
        out["peak_rss_mb"] = {
            "jvm": _jvm_peak_mb(spark),
            "python": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }
    finally:
        spark.stop()
    out["process_s"] = time.perf_counter() - STARTED
    Path(argv[1]).write_text(json.dumps(out, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
