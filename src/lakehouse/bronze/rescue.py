"""Build the bronze row: data columns, ``_rescued_data`` and the metadata columns."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F  # noqa: N812

from lakehouse.config.names import quote
from lakehouse.constants import (
    EXTRA_FIELDS,
    FILE_MODIFIED_AT,
    INGESTED_AT,
    RESCUED_DATA,
    RETYPED_PREFIX,
    RUN_ID,
    SOURCE_FILE,
)


def _q(name: str) -> Column:
    return F.col(quote(name))


def _undecodable(columns: list[str]) -> Column:
    # Spark decodes invalid bytes as U+FFFD; a flag is better than silently corrupted text.
    joined = F.concat_ws("\u0001", *[_q(c) for c in columns])
    return F.when(
        joined.contains("\ufffd"),
        F.lit("undecodable bytes replaced by U+FFFD (file is not UTF-8; set source.options.encoding)"),
    )


def to_bronze(
    df: DataFrame, *, keep: list[str], rescue: list[str], run_id: str, ingested_at: Column, text: bool
) -> DataFrame:
    """Select ``keep`` columns and the metadata columns; ``rescue`` columns go to JSON.

    ``_rescued_data`` is a JSON object naming the file, holding the values of columns the
    schema does not take (``rescue``) or whose type does not fit (reader columns named
    ``RETYPED_PREFIX`` + column, as text), and the error and raw text of malformed rows; it is
    null for clean rows. For text formats (``text``: csv, json) columns of ``keep`` that the
    batch lacks are added as null strings and values are checked for undecodable bytes.
    """
    present = set(df.columns)
    errors = [F.col("_error")]
    if text:
        errors.append(_undecodable([c for c in keep if c in present]))
    error = F.concat_ws("; ", *errors)
    error = F.when(error != "", error)
    rescued_values = [_q(c).alias(c) for c in rescue if c in present]
    retyped = [c for c in df.columns if c.startswith(RETYPED_PREFIX)]
    rescued_values += [_q(c).alias(c[len(RETYPED_PREFIX) :]) for c in retyped]
    dirty = error.isNotNull()
    for col in rescued_values:
        dirty = dirty | col.isNotNull()
    payload = F.to_json(
        F.struct(
            F.col(SOURCE_FILE).alias("_file"),
            error.alias("_error"),
            F.col("_raw").alias("_raw"),
            F.col("_extra").alias(EXTRA_FIELDS),
            *rescued_values,
        )
    )
    data = [
        (_q(c) if c in present else F.lit(None).cast("string")).alias(c) for c in keep if c in present or text
    ]
    return df.select(
        *data,
        F.col(SOURCE_FILE),
        F.col(FILE_MODIFIED_AT),
        ingested_at.alias(INGESTED_AT),
        F.lit(run_id).alias(RUN_ID),
        F.when(dirty, payload).alias(RESCUED_DATA),
    )
