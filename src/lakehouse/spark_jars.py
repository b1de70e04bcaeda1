"""Delta Lake's jars for a local session: which Maven artifact, resolved once, remembered.

A local session needs the Delta jars that match the installed ``pyspark`` and
``delta-spark``. They are found in this order:

1. ``LAKEHOUSE_SPARK_JARS``: a comma-separated list of local jar files (no resolution).
2. The jar list resolved on an earlier start, remembered per pyspark/delta-spark pair in
   ``~/.cache/lakehouse`` (``$LAKEHOUSE_CACHE_DIR``) while every jar is still on disk.
3. Resolution by Spark's own Ivy resolver (the ``spark.jars.packages`` mechanism), run in a
   short-lived JVM that starts no SparkContext: its ~260-line report is captured, and one
   log line says what was resolved. When the installed delta-spark's artifact is not
   published (pip can install a delta-spark whose jars Maven Central does not serve yet),
   the newest published release of the same Delta line for the installed Spark line is
   looked up in the repository's ``maven-metadata.xml`` and resolved instead.

When nothing resolves, :class:`SparkSetupError` says in one line which artifact is missing
and how to fix it (pin delta-spark, or set ``LAKEHOUSE_SPARK_JARS``).
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import os
import re
import tempfile
import time
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from lakehouse.errors import SparkSetupError
from lakehouse.maven import (
    MAVEN_CENTRAL,
    fallback_version,
    newest_version,
    published_versions,
    release_numbers,
)

JARS_ENV = "LAKEHOUSE_SPARK_JARS"
# Settings that change what Ivy resolves or how it reaches the network; the probe JVM gets
# the same values as the session it prepares.
_RESOLVER_KEYS = (
    "spark.jars.packages",
    "spark.jars.repositories",
    "spark.jars.ivy",
    "spark.jars.ivySettings",
)
_UNRESOLVED = re.compile(r"unresolved dependency: ([^\]\n]+)")
# What spark-submit's launcher prints when it cannot run Java at all.
_JAVA_TROUBLE = re.compile(r"bin/java|JAVA_HOME|java: (command )?not found|UnsupportedClassVersionError")


@dataclass(frozen=True)
class DeltaJars:
    """A resolved jar list and where it came from."""

    jars: str
    package: str | None
    source: str  # "env", "cache" or "ivy"
    note: str | None = None

    @property
    def paths(self) -> list[str]:
        return [j.removeprefix("file://").removeprefix("file:") for j in self.jars.split(",") if j]


def installed_versions() -> tuple[str, str | None]:
    """The installed pyspark version and delta-spark version (None if delta-spark is absent)."""
    import pyspark

    try:
        delta = version("delta-spark")
    except PackageNotFoundError:
        delta = None
    return str(pyspark.__version__), delta


def delta_artifact(pyspark_version: str, delta_version: str) -> str:
    """The Maven artifact id delta-spark's ``configure_spark_with_delta_pip`` asks for.

    Delta 3.x: ``delta-spark_2.12``; 4.0.x: ``delta-spark_2.13``; from 4.1 on one artifact
    per Spark line: ``delta-spark_<spark major.minor>_2.13``.
    """
    delta = release_numbers(delta_version.split("+")[0]) or (0,)
    if delta < (4,):
        return "delta-spark_2.12"
    if delta[:2] == (4, 0):
        return "delta-spark_2.13"
    spark_line = ".".join(pyspark_version.split(".")[:2])
    return f"delta-spark_{spark_line}_2.13"


def delta_package(pyspark_version: str, delta_version: str) -> str:
    """``io.delta:<artifact>:<version>`` for an installed pair."""
    return f"io.delta:{delta_artifact(pyspark_version, delta_version)}:{delta_version}"


def cache_dir() -> Path:
    base = os.environ.get("LAKEHOUSE_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "lakehouse"
    )
    return Path(base)


def cache_file(pyspark_version: str, delta_version: str, conf: dict[str, str] | None = None) -> Path:
    """Where the resolved jar list of this pair (and resolver settings) is remembered."""
    extra = "|".join(f"{k}={(conf or {}).get(k, '')}" for k in _RESOLVER_KEYS if (conf or {}).get(k))
    suffix = "-" + hashlib.sha256(extra.encode()).hexdigest()[:10] if extra else ""
    return cache_dir() / f"delta-jars-pyspark-{pyspark_version}-delta-{delta_version}{suffix}.txt"


def explicit_jars() -> DeltaJars | None:
    """``LAKEHOUSE_SPARK_JARS`` (files or globs such as ``/opt/jars/*.jar``), each checked.

    An entry that names no file (or a glob that matches none) is an error naming it.
    """
    value = os.environ.get(JARS_ENV, "").strip()
    if not value:
        return None
    files: list[str] = []
    for entry in (e.strip() for e in value.split(",") if e.strip()):
        path = entry.removeprefix("file://").removeprefix("file:")
        found = sorted(glob.glob(path)) if glob.has_magic(path) else [path]
        missing = not found or not all(os.path.isfile(f) for f in found)
        if missing:
            raise SparkSetupError(
                f"{JARS_ENV} lists {entry}, which {'matches no file' if not found else 'does not exist'}: "
                "fix the list (comma-separated jar files or globs) or unset it to let Spark resolve Delta "
                "from Maven Central"
            )
        files += [os.path.abspath(f) for f in found]
    return DeltaJars(",".join(files), package_of(files), "env")


def cached_jars(file: Path) -> DeltaJars | None:
    """The remembered jar list, if every jar is still on disk."""
    if not file.is_file():
        return None
    jars = file.read_text(encoding="utf-8").strip()
    found = DeltaJars(jars, None, "cache")
    if not found.paths or not all(os.path.isfile(p) for p in found.paths):
        return None
    return DeltaJars(jars, package_of(found.paths), "cache")


def package_of(paths: list[str]) -> str | None:
    """``io.delta:<artifact>:<version>`` of the Delta jar in an Ivy-resolved list."""
    for path in paths:
        name = Path(path).name
        if name.startswith("io.delta_delta-spark") and name.endswith(".jar"):
            artifact, _, release = name[len("io.delta_") : -len(".jar")].rpartition("-")
            return f"io.delta:{artifact}:{release}"
    return None


def remember(file: Path, jars: str) -> None:
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(jars, encoding="utf-8")
    except OSError:  # a read-only home only costs the next start a resolution
        pass


@dataclass(frozen=True)
class ProbeResult:
    """What Spark's resolver did in the probe JVM: the jar list, or the captured output."""

    jars: str | None
    output: str

    @property
    def unresolved(self) -> str | None:
        match = _UNRESOLVED.search(self.output)
        return match.group(1).strip() if match else None

    def cause(self) -> str:
        """One line: the unresolved dependency, or the last line that looks like an error."""
        if self.unresolved:
            return f"unresolved dependency {self.unresolved}"
        lines = [line.strip() for line in self.output.splitlines() if line.strip()]
        errors = [line for line in lines if re.search(r"error|exception|not found|no such", line, re.I)]
        return (errors or lines or ["the JVM exited without output"])[-1][:300]


def probe(packages: str, conf: dict[str, str]) -> ProbeResult:
    """Resolve ``packages`` with spark-submit's Ivy resolver in a JVM without a SparkContext.

    The JVM is pyspark's gateway process: spark-submit resolves ``spark.jars.packages``
    before the gateway starts, and the resolved files are its ``spark.jars`` property. Its
    whole output is captured; the JVM is stopped before returning.
    """
    from pyspark import SparkConf
    from pyspark.java_gateway import launch_gateway

    spark_conf = SparkConf(loadDefaults=False)
    for key in ("spark.jars.repositories", "spark.jars.ivy", "spark.jars.ivySettings"):
        if conf.get(key):
            spark_conf.set(key, conf[key])
    if conf.get("spark.driver.extraJavaOptions"):  # proxies (-Dhttps.proxyHost=...) live here
        spark_conf.set("spark.driver.extraJavaOptions", conf["spark.driver.extraJavaOptions"])
    spark_conf.set("spark.jars.packages", packages)
    with tempfile.TemporaryFile() as out:
        try:
            gateway: Any = launch_gateway(spark_conf, popen_kwargs={"stdout": out, "stderr": out})
        except Exception:  # JAVA_GATEWAY_EXITED: the cause is in the captured output
            out.seek(0)
            return ProbeResult(None, out.read().decode("utf-8", errors="replace"))
        try:
            jars = str(gateway.jvm.System.getProperty("spark.jars") or "")
        finally:
            _stop(gateway)
        out.seek(0)
        return ProbeResult(jars, out.read().decode("utf-8", errors="replace"))


def _stop(gateway: Any) -> None:
    proc = getattr(gateway, "proc", None)
    with contextlib.suppress(Exception):  # already gone
        gateway.shutdown()
    if proc is not None:
        if proc.stdin:
            proc.stdin.close()  # the gateway JVM exits when its stdin closes
        try:
            proc.wait(timeout=30)
        except Exception:  # pragma: no cover - a stuck JVM
            proc.kill()
            proc.wait()


def _repositories(conf: dict[str, str]) -> list[str]:
    extra = [r.strip() for r in conf.get("spark.jars.repositories", "").split(",") if r.strip()]
    return [*extra, MAVEN_CENTRAL]


def distribution_name() -> str:
    """The name this package is installed under (what ``pip install`` needs)."""
    from importlib.metadata import packages_distributions

    names = packages_distributions().get("lakehouse") or ["lakehouse"]
    return names[0]


def _fixes(pyspark_version: str, newest: str | None) -> str:
    pin = (
        f'pip install "delta-spark=={newest}" (the newest Delta with jars for Spark '
        f"{'.'.join(pyspark_version.split('.')[:2])})"
        if newest
        else f'pip install "{distribution_name()}[spark]" (it pins a tested pyspark/delta-spark pair)'
    )
    return f"Fix: {pin}, or set {JARS_ENV} to the Delta jar files (comma-separated)"


def resolve_delta_jars(
    conf: dict[str, str] | None = None,
    *,
    pyspark_version: str | None = None,
    delta_version: str | None = None,
    log: Any = None,
) -> DeltaJars:
    """The jar list a local session starts with (see the module docstring for the order).

    ``conf`` is the session's Spark settings (user ``spark.jars.packages`` are resolved
    along with Delta). The versions default to the installed ones. Raises
    :class:`SparkSetupError` with a one-line cause and fix when nothing resolves.
    """
    conf = dict(conf or {})
    found = explicit_jars()
    if found is not None:
        return found
    installed_spark, installed_delta = installed_versions()
    pyspark_version = pyspark_version or installed_spark
    delta_version = delta_version or installed_delta
    if delta_version is None:
        raise SparkSetupError(
            f'delta-spark is not installed: pip install "{distribution_name()}[spark]", '
            f"or set {JARS_ENV} to the Delta jar files"
        )
    file = cache_file(pyspark_version, delta_version, conf)
    cached = cached_jars(file)
    if cached is not None:
        return cached
    extra = [p for p in conf.get("spark.jars.packages", "").split(",") if p.strip()]
    wanted = delta_package(pyspark_version, delta_version)
    started = time.monotonic()
    result = probe(",".join([wanted, *extra]), conf)
    package, note = wanted, None
    ivy_name = f"io.delta#{delta_artifact(pyspark_version, delta_version)};{delta_version}"
    if result.jars is None and result.unresolved and ivy_name in result.unresolved:
        package, note, result = _fall_back(pyspark_version, delta_version, conf, extra, result)
    if result.jars is None and _JAVA_TROUBLE.search(result.output):
        raise SparkSetupError(
            f"Spark's JVM could not start: {result.cause()}. Fix: install Java 17 or later and point "
            "JAVA_HOME to it, or unset JAVA_HOME to use java on PATH (`lakehouse doctor` checks it)"
        )
    if result.jars is None:
        raise SparkSetupError(
            f"Spark could not start with Delta Lake ({wanted}): {result.cause()}. "
            "Check Java (lakehouse doctor) and the network to Maven Central, or set "
            f"{JARS_ENV} to the Delta jar files"
        )
    remember(file, result.jars)
    if log is not None and note:
        log.warning(note)
    if log is not None:
        log.info(
            "Delta jars resolved by Ivy (the resolver report is not shown; the list is remembered)",
            package=package,
            jars=len(result.jars.split(",")),
            seconds=round(time.monotonic() - started, 1),
            remembered_in=str(file),
        )
    return DeltaJars(result.jars, package, "ivy", note)


def _fall_back(
    pyspark_version: str, delta_version: str, conf: dict[str, str], extra: list[str], failed: ProbeResult
) -> tuple[str, str | None, ProbeResult]:
    """Resolve the newest published stand-in for an unpublished Delta artifact, or raise."""
    artifact = delta_artifact(pyspark_version, delta_version)
    wanted = f"io.delta:{artifact}:{delta_version}"
    published, problem = published_versions(artifact, _repositories(conf))
    if problem:
        raise SparkSetupError(
            f"{wanted} cannot be resolved ({failed.cause()}) and no Maven repository could be asked "
            f"for other versions ({problem}). {_fixes(pyspark_version, None)}"
        )
    if delta_version in published:
        raise SparkSetupError(
            f"{wanted} is published but Spark's resolver could not fetch it ({failed.cause()}): check "
            "the network or proxy to Maven Central (spark.jars.repositories, spark.jars.ivySettings), "
            f"or set {JARS_ENV} to the Delta jar files (comma-separated)"
        )
    stand_in = fallback_version(delta_version, published, per_spark_line=artifact.count("_") == 2)
    if stand_in is None:
        newest = newest_version(published)
        raise SparkSetupError(
            f"{wanted} is not published on Maven Central (no Delta jar for delta-spark "
            f"{delta_version} on Spark {pyspark_version}). {_fixes(pyspark_version, newest)}"
        )
    package = f"io.delta:{artifact}:{stand_in}"
    result = probe(",".join([package, *extra]), conf)
    if result.jars is None:
        raise SparkSetupError(
            f"{wanted} is not published and its stand-in {package} cannot be resolved either "
            f"({result.cause()}). {_fixes(pyspark_version, stand_in)}"
        )
    note = (
        f"{wanted} is not published; using {package}, the newest published Delta "
        f"{'.'.join(stand_in.split('.')[:2])} jar for this Spark line "
        f'(pip install "delta-spark=={stand_in}" to match it exactly)'
    )
    return package, note, result
