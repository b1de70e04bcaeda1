"""Names shared across the package: layers, metadata columns, side tables, secret variables.

Floor 0: imports nothing from lakehouse. Every other module takes these names from here, so a
name is changed in one place.
"""

from __future__ import annotations

import re

LAYERS = ("bronze", "silver", "gold")
"""The medallion layers, in the order a pipeline runs them."""
BRONZE, SILVER, GOLD = LAYERS

SOURCE_FILE = "_source_file"
FILE_MODIFIED_AT = "_file_modified_at"
INGESTED_AT = "_ingested_at"
RUN_ID = "_run_id"
RESCUED_DATA = "_rescued_data"
EXTRA_FIELDS = "_extra_fields"
# Prefix of a reader column holding, as text, the value of an orc/parquet column whose type did
# not fit the bronze table (schema_evolution rescue/none); bronze moves it into _rescued_data.
RETYPED_PREFIX = "_retyped__"
"""Key of ``_rescued_data``: how many fields a csv row had beyond its header (or contract)."""
DRIFT = "drift"
"""Key of a bronze commit's ``userMetadata``: the batch's unknown and missing columns by file."""
METADATA_COLUMNS = (SOURCE_FILE, FILE_MODIFIED_AT, INGESTED_AT, RUN_ID, RESCUED_DATA)
"""The columns bronze adds to every row (everything else is data as landed)."""
SCD2_COLUMNS = ("valid_from", "valid_to", "is_current")
"""The validity columns an SCD2 gold table adds to every version of a key."""
DELETED_AT = "_deleted_at"
"""The column a change-feed gold table with ``soft_delete`` sets on a deleted key's row."""

RUNS_TABLE = "_lakehouse_runs"
"""The run ledger, directly under the storage root."""
LOCKS_TABLE = "_lakehouse_locks"
"""The run lock (one lease per pipeline), beside the run ledger."""
ERASURES_TABLE = "_lakehouse_erasures"
"""The audit of ``lakehouse forget`` (who erased what, when; never the values), beside the ledger."""
EXPECTATIONS_TABLE = "_expectations"
"""The expectation metrics table, beside the gold tables."""
CHECKPOINTS = "_checkpoints"
"""The folder under the storage root holding every layer's incremental state."""
QUARANTINE_SUFFIX = "_quarantine"
"""A quarantine table is named after its table plus this suffix."""
TOMBSTONES_SUFFIX = "_tombstones"
"""The deletes a change-feed gold table remembers, beside it: its name plus this suffix."""

SECRET_ENV_PREFIX = "LAKEHOUSE_SECRET_"


def secret_env_var(scope: str, key: str) -> str:
    """The environment variable standing in for Databricks secret ``key`` of ``scope``.

    ``LAKEHOUSE_SECRET_<SCOPE>_<KEY>``, upper case, every character other than a letter or a
    digit replaced by ``_``: what the config's secret references and the local ``dbutils``
    read outside Databricks.
    """
    return SECRET_ENV_PREFIX + re.sub(r"[^A-Za-z0-9]", "_", f"{scope}_{key}").upper()
