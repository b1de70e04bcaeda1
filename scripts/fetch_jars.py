"""Fetch the Delta Lake jars for the installed pyspark / delta-spark pair into a folder.

The dev container's Dockerfile runs this at build time, so that Spark starts there with no
network: point ``LAKEHOUSE_SPARK_JARS`` at the folder's jars (``<folder>/*.jar``; Spark
expands the glob) and no resolver runs. Locally::

    .venv/bin/python scripts/fetch_jars.py ~/lakehouse-jars
    export LAKEHOUSE_SPARK_JARS="$HOME/lakehouse-jars/*.jar"

The jars are those a local session resolves itself: Spark's resolver (Ivy, from Maven
Central) resolves the coordinates ``delta.configure_spark_with_delta_pip`` names for the
installed versions, into a fresh Ivy cache (or ``--ivy DIR``), and they are copied from there.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path


def resolve(ivy: Path) -> list[Path]:
    """The Delta jars (with their dependencies) for the installed pair, resolved into ``ivy``."""
    from delta import configure_spark_with_delta_pip
    from pyspark.sql import SparkSession

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = (
        SparkSession.builder.master("local[1]")
        .appName("lakehouse-fetch-jars")
        .config("spark.ui.enabled", "false")
        .config("spark.jars.ivy", str(ivy))
    )
    session = configure_spark_with_delta_pip(builder).getOrCreate()
    try:
        jars = session.sparkContext.getConf().get("spark.jars", "")
    finally:
        session.stop()
    paths = [Path(j.removeprefix("file://").removeprefix("file:")) for j in jars.split(",") if j]
    if not any("delta-spark" in p.name for p in paths):
        raise SystemExit(f"fetch_jars: Spark resolved no Delta jar (spark.jars = {jars!r})")
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="where the jars go (created; old jars removed)")
    parser.add_argument("--ivy", type=Path, help="Ivy cache to resolve into (default: a temporary one)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="lakehouse-ivy-") as scratch:
        jars = resolve(args.ivy or Path(scratch))
        args.folder.mkdir(parents=True, exist_ok=True)
        for old in args.folder.glob("*.jar"):
            old.unlink()
        for jar in jars:
            shutil.copy2(jar, args.folder / jar.name)
    names = sorted(j.name for j in jars)
    print(f"fetch_jars: {len(names)} jars in {args.folder}: {', '.join(names)}")
    print(f'export LAKEHOUSE_SPARK_JARS="{args.folder.resolve()}/*.jar"')
    return 0


if __name__ == "__main__":
    sys.exit(main())
