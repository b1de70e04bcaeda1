"""Auto Loader for bronze on Databricks: which engine runs, and the source mapped to its options.

Pure functions (no Spark): :func:`engine` decides between bronze's own file ledger and
Databricks Auto Loader (``cloudFiles``); :func:`options` turns a dataset's ``source`` section
into Auto Loader's reader options, so one configuration serves both.
"""

from __future__ import annotations

from collections.abc import Mapping

from lakehouse.config.model import SourceConfig
from lakehouse.constants import RESCUED_DATA

FILES, AUTOLOADER = "files", "autoloader"
# Options bronze sets itself; a user's value for them would contradict the mapping.
_OWNED = {"header", "rescueddatacolumn", "pathglobfilter", "mode", "columnnameofcorruptrecord"}


def on_databricks(environ: Mapping[str, str]) -> bool:
    """True inside a Databricks runtime (it sets ``DATABRICKS_RUNTIME_VERSION``)."""
    return bool(environ.get("DATABRICKS_RUNTIME_VERSION"))


def engine(source: SourceConfig, environ: Mapping[str, str]) -> str:
    """``autoloader`` or ``files``: ``source.engine``, with ``auto`` = Auto Loader on Databricks."""
    if source.engine == "auto":
        return AUTOLOADER if on_databricks(environ) else FILES
    return source.engine


def options(source: SourceConfig, schema_location: str) -> dict[str, str]:
    """Auto Loader reader options for ``source``.

    ``schema_location`` is where Auto Loader tracks the inferred schema (under the dataset's
    bronze checkpoint). csv and json columns stay strings (``cloudFiles.inferColumnTypes``
    false) as in the file ledger engine; silver casts. ``on_file_change: reingest`` is
    ``cloudFiles.allowOverwrites``; ``ignore`` and ``fail`` leave Auto Loader's default, which
    does not load a changed file again (it has no way to fail on one).
    """
    opts = {
        "cloudFiles.format": source.format,
        "cloudFiles.schemaLocation": schema_location,
        "cloudFiles.schemaEvolutionMode": source.schema_evolution,
        "cloudFiles.maxFilesPerTrigger": str(source.max_files_per_batch),
        "cloudFiles.includeExistingFiles": "true",
        "rescuedDataColumn": RESCUED_DATA,
    }
    if source.format in ("csv", "json"):
        opts["cloudFiles.inferColumnTypes"] = "false"
    if source.format == "csv":
        opts["header"] = source.options.get("header", "true").lower()
    if source.on_file_change == "reingest":
        opts["cloudFiles.allowOverwrites"] = "true"
    if source.pattern:
        opts["pathGlobFilter"] = source.pattern
    for key, value in source.options.items():
        if key.lower() not in _OWNED:
            opts[key] = value
    return opts
