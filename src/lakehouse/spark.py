"""Get a SparkSession: the active one, a Spark Connect one, or a local one with Delta.

In order: the session already active in this process (a Databricks notebook's ``spark``,
classic or Spark Connect; a ``spark-submit`` launch); a Spark Connect session to
``SPARK_REMOTE`` (e.g. ``sc://127.0.0.1:15002``) when that variable is set, never a local JVM
then; else a local classic session with Delta. This is the only module that touches the
classic session's JVM side (log level, the jar list Ivy resolved), and only for sessions it
built itself.

A local session starts with Delta's jars given as ``spark.jars``: from
``LAKEHOUSE_SPARK_JARS``, from the list remembered after the first start, or resolved once
from Maven Central by Spark's Ivy resolver in a separate short JVM whose report is not shown
(see :mod:`lakehouse.spark_jars`, which also falls back to the newest published Delta jar
when the installed delta-spark's jar is not on Maven Central).
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from importlib import resources
from typing import TYPE_CHECKING

from lakehouse.errors import LakehouseError, SparkSetupError
from lakehouse.log import get_logger
from lakehouse.spark_jars import resolve_delta_jars

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from lakehouse.config.settings import SparkSettings

DELTA_CONF = {
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
}

# Session settings for every local session: UTC so timestamps mean the same everywhere,
# no progress bars interleaved with log lines, file listings sized for one machine.
BASE_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.ui.showConsoleProgress": "false",
    "spark.databricks.delta.schema.autoMerge.enabled": "false",
    # Delta's VACUUM lists a table's files in a Spark job with this many tasks. Spark's default
    # (10,000) is sized for a cluster: on a laptop it made one VACUUM of a small table take
    # about 50 s instead of about 9 s (`lakehouse forget` vacuums every table it touched).
    "spark.sql.sources.parallelPartitionDiscovery.parallelism": "8",
}

# The fast profile used by tests: tiny shuffles, no UI, small Delta snapshot partitions.
TEST_CONF = {
    "spark.sql.shuffle.partitions": "2",
    "spark.default.parallelism": "2",
    "spark.ui.enabled": "false",
    "spark.databricks.delta.snapshotPartitions": "2",
    "spark.sql.adaptive.coalescePartitions.initialPartitionNum": "2",
    "spark.databricks.delta.delete.deletionVectors.persistent": "false",
    "spark.driver.memory": "2g",
}


def local_cores(master: str) -> int | None:
    """The cores a ``local``, ``local[N]`` or ``local[*]`` master uses; None for a cluster."""
    found = re.fullmatch(r"local(?:\[(\*|\d+)(?:,\s*\d+)?\])?", master.strip())
    if found is None:
        return None
    wanted = found.group(1)
    return (os.cpu_count() or 1) if wanted == "*" else int(wanted or 1)


def local_conf(master: str) -> dict[str, str]:
    """Defaults for a session on one machine (the pipeline's ``spark.conf`` overrides them).

    Delta rebuilds a table's state from its log the first time a process touches the table,
    in ``snapshotPartitions`` tasks (default 50, sized for a cluster). On one machine the
    tasks cost more than the work: the first append to a small table took about 30 s on 2
    cores with 50 tasks and about 16 s with 2.
    """
    cores = local_cores(master)
    return {} if cores is None else {"spark.databricks.delta.snapshotPartitions": str(max(1, cores))}


def _log4j_options() -> str:
    conf = resources.files("lakehouse").joinpath("resources/log4j2.properties")
    return f"-Dlog4j2.configurationFile=file:{conf}"


def get_spark(
    settings: SparkSettings | None = None,
    *,
    profile: str = "default",
    extra_conf: dict[str, str] | None = None,
) -> SparkSession:
    """Return the active SparkSession, or build a local one with Delta configured.

    ``profile="test"`` adds small shuffle partitions and disables the UI. ``settings`` (the
    pipeline's ``spark`` section) and ``extra_conf`` apply only when a session is built here.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise LakehouseError(
            "pyspark is not installed: install lakehouse-etl[spark] locally (Databricks runtimes "
            "ship their own pyspark and Delta)"
        ) from exc

    active = active_session()
    if active is not None:
        return active
    remote = os.environ.get("SPARK_REMOTE")
    if remote:
        return _connect(remote)
    if os.environ.get("PYSPARK_GATEWAY_PORT"):
        return _submitted_session(SparkSession, settings, extra_conf)

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    master = settings.master if settings else "local[*]"
    if profile == "test":
        master = "local[2]"
    builder = SparkSession.builder.master(master).appName(settings.app_name if settings else "lakehouse")
    conf = {**BASE_CONF, **DELTA_CONF, **local_conf(master), **(TEST_CONF if profile == "test" else {})}
    conf.update(settings.conf if settings else {})
    conf.update(extra_conf or {})
    conf.setdefault("spark.driver.extraJavaOptions", _log4j_options())
    # Delta (and any spark.jars.packages) is resolved here, outside the session, so the
    # session starts from jar files and Ivy's report never reaches the console.
    jars = resolve_delta_jars(conf, log=get_logger("lakehouse.spark"))
    conf.pop("spark.jars.packages", None)
    conf["spark.jars"] = _join_jars(conf.get("spark.jars"), jars.jars)
    for key, value in conf.items():
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
    except Exception as exc:
        if "JAVA_GATEWAY_EXITED" not in str(exc):
            raise
        raise SparkSetupError(
            "the Spark JVM exited before it started (its own message is above): check Java "
            "with `lakehouse doctor` (Spark needs Java 17 or later; JAVA_HOME must point to it)"
        ) from None
    session.sparkContext.setLogLevel("ERROR")
    return session


def delta_jar_conf() -> dict[str, str]:
    """``spark.jars`` with Delta's jars for a Spark JVM started here (e.g. the local Spark Connect
    server of scripts/test-connect.sh), found as for a local session (:mod:`lakehouse.spark_jars`).
    """
    return {"spark.jars": resolve_delta_jars({}, log=get_logger("lakehouse.spark")).jars}


def active_session() -> SparkSession | None:
    """The session already active in this process, classic or Spark Connect, if any."""
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    # A Connect session exists only if its module was imported; importing it here would need
    # the client's packages (and pyspark exits the process when they are missing in `python -c`).
    module = sys.modules.get("pyspark.sql.connect.session")
    if module is None:
        return None
    remote: SparkSession | None = module.SparkSession.getActiveSession()
    return remote


def is_connect(spark: SparkSession) -> bool:
    """True for a Spark Connect session (serverless, standard access mode, ``SPARK_REMOTE``)."""
    return type(spark).__module__.startswith("pyspark.sql.connect")


# What pyspark's Connect client imports (pyspark[connect]); checked before importing it.
CONNECT_CLIENT = ("grpc", "grpc_status", "google.rpc", "pandas", "pyarrow")


def _connect(remote: str) -> SparkSession:
    missing = [m for m in CONNECT_CLIENT if _find_spec(m) is None]
    if missing:
        raise LakehouseError(
            f"SPARK_REMOTE is set ({remote}) but the Spark Connect client is not installed "
            f"(missing {', '.join(missing)}): pip install 'lakehouse-etl[connect]'"
        )
    # pyspark's own builder, not the Connect module's: it also marks the process as Connect
    # mode (SPARK_CONNECT_MODE_ENABLED), without which pyspark.sql.functions (F.col, F.lit...)
    # look for a classic SparkContext and fail with a bare AssertionError.
    from pyspark.sql import SparkSession as Session

    session: SparkSession = Session.builder.remote(remote).getOrCreate()
    return session


def _join_jars(*lists: str | None) -> str:
    return ",".join(j for part in lists if part for j in part.split(",") if j)


def _submitted_session(
    session_cls: type[SparkSession], settings: SparkSettings | None, extra_conf: dict[str, str] | None
) -> SparkSession:
    """The session of a spark-submit / pyspark launch: its master and jars are the launcher's.

    Only the pipeline's own Spark settings are added; Delta must come with the submit
    (``--packages`` and the two Delta confs), which is checked here so a missing piece is a
    clear error instead of a failure deep inside the first Delta write.
    """
    builder = session_cls.builder
    for key, value in {**(settings.conf if settings else {}), **(extra_conf or {})}.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    extensions = session.conf.get("spark.sql.extensions", "") or ""
    if "DeltaSparkSessionExtension" not in extensions:
        raise LakehouseError(
            "this Spark application was started without Delta Lake: pass "
            "--packages io.delta:delta-spark_<spark>_2.13:<version> --conf "
            f"spark.sql.extensions={DELTA_CONF['spark.sql.extensions']} --conf "
            f"spark.sql.catalog.spark_catalog={DELTA_CONF['spark.sql.catalog.spark_catalog']}"
        )
    return session


def _find_spec(module: str) -> object | None:
    try:
        return importlib.util.find_spec(module)
    except (ImportError, ValueError):  # a parent package is missing
        return None
