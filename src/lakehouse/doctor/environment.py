"""Checks of the machine: Python, Java, pyspark and delta-spark, Delta's jars, optional tools.

None of them starts a Spark session. The jar check reuses what a local session would use
(``LAKEHOUSE_SPARK_JARS``, else the jar list remembered after an earlier start) and only when
there is neither asks Spark's resolver for the jars, in a JVM that starts no SparkContext.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, requires, version
from pathlib import Path

from lakehouse.doctor.result import FAIL, INFO, OK, SKIP, WARN, Check
from lakehouse.errors import LakehouseError
from lakehouse.maven import release_numbers
from lakehouse.spark_jars import (
    JARS_ENV,
    cache_file,
    cached_jars,
    distribution_name,
    explicit_jars,
    resolve_delta_jars,
)

ON_DATABRICKS = "DATABRICKS_RUNTIME_VERSION" in os.environ
_JAVA_VERSION = re.compile(r'version "(\d+)(?:\.(\d+))?')
CHROMIUM = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless_shell")


def python_check() -> Check:
    found = ".".join(map(str, sys.version_info[:3]))
    return Check("python", OK, f"Python {found} ({sys.executable})")


def _installed(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def java_minimum(pyspark_version: str | None) -> int:
    """Spark 4 needs Java 17; Spark 3.5 runs on 8, 11 and 17."""
    return 17 if (release_numbers(pyspark_version or "0") or (0,)) >= (4,) else 8


def java_check() -> Check:
    """The java Spark's launcher will use: ``$JAVA_HOME/bin/java``, else ``java`` on PATH."""
    home = os.environ.get("JAVA_HOME")
    fix = "install a JDK 17 (e.g. apt-get install openjdk-17-jdk-headless) and point JAVA_HOME to it"
    if home:
        java = Path(home) / "bin" / "java"
        if not java.is_file():
            return Check("java", FAIL, f"JAVA_HOME={home} has no bin/java", f"{fix}, or unset JAVA_HOME")
    else:
        found = shutil.which("java")
        if found is None:
            return Check("java", FAIL, "no java on PATH and JAVA_HOME is not set", fix)
        java = Path(found)
    try:
        out = subprocess.run([str(java), "-version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Check("java", FAIL, f"{java} -version failed: {exc}", fix)
    match = _JAVA_VERSION.search(out.stderr + out.stdout)
    if out.returncode != 0 or match is None:
        first = (out.stderr or out.stdout).strip().splitlines()[:1]
        return Check("java", FAIL, f"{java} -version failed: {' '.join(first)}", fix)
    major = int(match.group(2) if match.group(1) == "1" else match.group(1))  # "1.8" is Java 8
    needed = java_minimum(_installed("pyspark"))
    if major < needed:
        return Check("java", FAIL, f"Java {major} at {java}; this pyspark needs Java {needed}+", fix)
    return Check("java", OK, f"Java {major} at {java} (JAVA_HOME {'set' if home else 'not set'})")


def _within(found: str, requirement: str) -> bool | None:
    """Whether ``found`` meets comparisons like ``>=4.0.1,<=4.2.0`` (None if unreadable)."""
    have = release_numbers(found)
    if have is None:
        return None
    for part in requirement.split(","):
        match = re.fullmatch(r"\s*(<=|>=|==|<|>)\s*([\d.]+)\s*", part)
        bound = release_numbers(match.group(2)) if match else None
        if match is None or bound is None:
            return None
        width = max(len(have), len(bound))
        a, b = have + (0,) * (width - len(have)), bound + (0,) * (width - len(bound))
        ok = {"<=": a <= b, ">=": a >= b, "==": a == b, "<": a < b, ">": a > b}[match.group(1)]
        if not ok:
            return False
    return True


def packages_check() -> Check:
    """pyspark and delta-spark installed, and delta-spark's own pyspark requirement met."""
    pyspark, delta = _installed("pyspark"), _installed("delta-spark")
    install = f'pip install "{distribution_name()}[spark]"'
    if ON_DATABRICKS:
        return Check("spark packages", INFO, "Databricks runtime: Spark and Delta come with the cluster")
    if pyspark is None or delta is None:
        missing = " and ".join(n for n, v in (("pyspark", pyspark), ("delta-spark", delta)) if v is None)
        return Check("spark packages", FAIL, f"{missing} not installed", install)
    wanted = next(
        (r.split(";")[0][len("pyspark") :] for r in requires("delta-spark") or [] if r.startswith("pyspark")),
        "",
    )
    fits = _within(pyspark, wanted) if wanted else True
    detail = f"pyspark {pyspark}, delta-spark {delta}"
    if fits is False:
        return Check("spark packages", FAIL, f"{detail}: delta-spark {delta} needs pyspark{wanted}", install)
    if (release_numbers(pyspark) or (0,)) < (3, 5):
        return Check("spark packages", FAIL, f"{detail}: lakehouse needs pyspark 3.5 or later", install)
    return Check("spark packages", OK, detail)


def jars_check(conf: dict[str, str], java_ok: bool) -> Check:
    """Delta's jars: the explicit list, the remembered list, or a resolution now."""
    if ON_DATABRICKS:
        return Check("delta jars", INFO, "Databricks runtime: Delta is part of the cluster")
    pyspark, delta = _installed("pyspark"), _installed("delta-spark")
    try:
        found = explicit_jars()
        if found is not None:
            return Check("delta jars", OK, f"{JARS_ENV}: {len(found.paths)} jar files, all present")
        if pyspark is None or delta is None:
            return Check("delta jars", SKIP, "needs pyspark and delta-spark", required=False)
        remembered = cache_file(pyspark, delta, conf)
        cached = cached_jars(remembered)
        if cached is None and not java_ok:
            return Check("delta jars", SKIP, "needs a working Java to resolve them", required=False)
        found = cached or resolve_delta_jars(conf)
    except LakehouseError as exc:
        return Check(
            "delta jars", FAIL, str(exc), f"pin a delta-spark with published jars, or set {JARS_ENV}"
        )
    how = "remembered from an earlier start" if found.source == "cache" else "resolved by Ivy just now"
    detail = f"{found.package or 'Delta'}: {len(found.paths)} jars, {how} ({remembered})"
    if found.package and not found.package.endswith(f":{delta}"):
        used = found.package.rsplit(":", 1)[1]
        detail += f"; stands in for delta-spark {delta}, whose jar is not published"
        return Check("delta jars", WARN, detail, f'pip install "delta-spark=={used}" to match it')
    return Check("delta jars", OK, detail)


def chromium_check() -> Check:
    """Optional: a headless Chromium renders HTML reports; nothing in a run needs it."""
    for name in CHROMIUM:
        found = shutil.which(name)
        if found:
            return Check("chromium", OK, f"{found} (optional: renders HTML reports)", required=False)
    return Check(
        "chromium",
        INFO,
        "not found (optional: only to render HTML reports; runs do not need it)",
        "apt-get install chromium (or any Chrome/Chromium on PATH)",
        required=False,
    )
