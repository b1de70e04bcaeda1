"""A DataFrame of a few rows built in the driver (ledger events, metrics, lock rows, erasure audits).

``spark.createDataFrame(rows, schema)`` on a classic session ships pickled rows to the JVM
and unpickles them in a Python worker when the frame is written: a small Spark job of its
own, 0.05 to 0.1 s per bookkeeping append, and a run makes one such append per layer plus
the lock's and the metrics'. :func:`local_frame` instead sends the rows as one JSON string
literal that Spark parses into the schema (``from_json`` + ``inline``): the rows are part of
the plan, and writing them needs no Python worker. It works the same over Spark Connect.

Values must already have the schema's types (strings, ints, floats, bools, lists, dicts,
``datetime``/``date``, None): the JSON is parsed with ``FAILFAST``, so a value of another type
raises instead of becoming NULL. A naive ``datetime`` is read as local time, as
``createDataFrame`` reads it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

# Microseconds and a zone: the encoder below writes UTC with 'Z'.
_OPTIONS = {"mode": "FAILFAST", "timestampFormat": "yyyy-MM-dd'T'HH:mm:ss.SSSSSSX"}


def _encode(value: Any) -> Any:
    """A JSON value for one field (timestamps as UTC text with microseconds)."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _encode(v) for k, v in value.items()}
    if value is None or isinstance(value, str | int | float):
        return value
    # The value itself stays out of the message: these rows may carry error texts or fingerprints.
    raise TypeError(f"unsupported value of type {type(value).__name__}")


def column_names(ddl: str) -> list[str]:
    """The names of a DDL column list (``"a string, b map<string,bigint>"``: ``["a", "b"]``)."""
    names, depth, start = [], 0, 0
    for i, char in enumerate(ddl + ","):
        if char in "<(":
            depth += 1
        elif char in ">)":
            depth -= 1
        elif char == "," and depth == 0:
            names.append(ddl[start:i].split()[0].rstrip(":"))
            start = i + 1
    return names


def local_frame(spark: SparkSession, rows: Sequence[Sequence[Any]], ddl: str) -> DataFrame:
    """The rows (tuples in the order of the columns of ``ddl``) as a DataFrame of that schema."""
    from pyspark.sql import functions as F  # noqa: N812

    names = column_names(ddl)
    records = []
    for row in rows:
        if len(row) != len(names):
            raise ValueError(f"local_frame: a row has {len(row)} values for {len(names)} columns")
        record = {}
        for name, value in zip(names, row, strict=True):
            try:
                record[name] = _encode(value)
            except TypeError as exc:
                raise TypeError(f"local_frame: column {name!r}: {exc}") from None
        records.append(record)
    text = json.dumps(records, allow_nan=True)
    parsed = F.from_json(F.lit(text), f"array<struct<{ddl}>>", _OPTIONS)
    return spark.range(1).select(F.inline(parsed))
