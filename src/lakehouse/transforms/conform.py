"""Conform bronze rows to a dataset contract: rename, trim, null tokens, cast.

Pure transforms chained with ``df.transform``; nothing here reads, writes or runs a job.
Every cast uses ANSI-independent expressions (``try_cast``, ``try_to_timestamp``) so the
result is the same with ``spark.sql.ansi.enabled`` true or false, on Spark 3.5 and 4.x: a
value that does not fit its type becomes NULL here and :func:`cast_failed` tells it apart
from a genuine NULL (the cleaned string is kept in the ``_clean`` struct).

Columns produced along the chain:

* ``<contract name>``: the value (string after :func:`with_contract_columns` and
  :func:`with_clean_strings`, the declared type after :func:`with_contract_types`);
* ``_raw_values``: ``map<string,string>`` of every data column of the bronze row as landed
  (source names), used for the quarantine's ``_raw`` and for reason values; a ``raw_value``
  function given to :func:`to_conformed` may replace or leave out each entry as the map is
  built (silver protects PII there, see :func:`lakehouse.silver.pii.raw_value_protection`);
* ``_clean``: struct of the cleaned strings (after :func:`with_contract_types`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F  # noqa: N812

from lakehouse.config.names import quote
from lakehouse.constants import INGESTED_AT, METADATA_COLUMNS, RESCUED_DATA, SOURCE_FILE

if TYPE_CHECKING:
    from lakehouse.config.contract import ColumnSpec, Contract

RAW = "_raw_values"
CLEAN = "_clean"
# (source name, value as a string) -> the value the raw map keeps, or None to leave it out.
RawValue = Callable[[str, Column], Column | None]
_INTEGRAL = ("tinyint", "smallint", "int", "bigint")
_INTEGER_TEXT = r"^[+-]?[0-9]+$"


def data_columns(columns: list[str]) -> list[str]:
    """Bronze columns that carry source data (everything but the lakehouse metadata)."""
    return [c for c in columns if c not in METADATA_COLUMNS]


def _find(columns: list[str], wanted: str) -> str | None:
    """Exact match first, then case-insensitive (CSV headers vary in case)."""
    if wanted in columns:
        return wanted
    lowered = {c.lower(): c for c in columns}
    return lowered.get(wanted.lower())


def drift(bronze_columns: list[str], contract: Contract) -> dict[str, list[str]]:
    """Bronze columns the contract does not know, and contract columns bronze lacks."""
    data = data_columns(bronze_columns)
    known = {s.lower() for s in contract.source_names}
    unknown = [c for c in data if c.lower() not in known]
    missing = [s for s in contract.source_names if _find(data, s) is None]
    return {"unknown_columns": unknown, "missing_columns": missing}


def file_drift(columns_by_file: dict[str, list[str]], contract: Contract) -> dict[str, dict[str, list[str]]]:
    """Per column, the files of a batch that bring a column the contract does not know
    (``unknown_columns``) or lack one of its columns (``missing_columns``).

    Names compare case-insensitively, as silver finds them. A renamed column shows as one
    unknown and one missing column in the same files.
    """
    known = {s.lower() for s in contract.source_names}
    unknown: dict[str, list[str]] = {}
    missing: dict[str, list[str]] = {}
    for path, columns in columns_by_file.items():
        lowered = {c.lower() for c in columns}
        for column in columns:
            if column.lower() not in known:
                unknown.setdefault(column, []).append(path)
        for name in contract.source_names:
            if name.lower() not in lowered:
                missing.setdefault(name, []).append(path)
    return {"unknown_columns": unknown, "missing_columns": missing}


def _raw_map(data: list[str], raw_value: RawValue | None = None) -> Column:
    if not data:
        return F.lit(None).cast("map<string,string>")
    pairs: list[Column] = []
    for name in data:
        value = F.col(quote(name)).cast("string")
        kept = raw_value(name, value) if raw_value is not None else value
        if kept is not None:
            pairs += [F.lit(name), kept]
    return F.create_map(*pairs) if pairs else F.create_map().cast("map<string,string>")


def with_contract_columns(df: DataFrame, contract: Contract, raw_value: RawValue | None = None) -> DataFrame:
    """Rename source columns to contract names (all STRING); missing ones become NULL.

    Keeps the metadata columns (NULL when absent) and adds ``_raw_values`` (each entry passed
    through ``raw_value`` when given).
    """
    data = data_columns(df.columns)
    values = []
    for spec in contract.columns:
        found = _find(data, spec.source_name)
        value = F.col(quote(found)).cast("string") if found else F.lit(None).cast("string")
        values.append(value.alias(spec.name))
    meta = [
        (F.col(quote(m)) if m in df.columns else F.lit(None)).cast(t).alias(m)
        for m, t in ((SOURCE_FILE, "string"), (INGESTED_AT, "timestamp"), (RESCUED_DATA, "string"))
    ]
    return df.select(*values, *meta, _raw_map(data, raw_value).alias(RAW))


def clean_string(value: Column, null_tokens: tuple[str, ...], trim: bool = True) -> Column:
    """Trim (optionally) and turn null tokens into NULL."""
    text = F.trim(value) if trim else value
    if not null_tokens:
        return text
    return F.when(text.isin(*null_tokens), F.lit(None).cast("string")).otherwise(text)


def with_clean_strings(df: DataFrame, contract: Contract) -> DataFrame:
    """Apply ``trim`` and ``null_tokens`` to every contract column."""
    cleaned = {
        c.name: clean_string(F.col(quote(c.name)), contract.null_tokens, contract.trim)
        for c in contract.columns
    }
    return df.withColumns(cleaned)


def _sql_literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _timestamp(col: str, spec: ColumnSpec, default_tz: str) -> Column:
    if spec.format:
        parsed = F.expr(f"try_to_timestamp({col}, {_sql_literal(spec.format)})")
    else:
        parsed = F.expr(f"try_cast({col} AS timestamp)")
    zone = spec.timezone or default_tz
    # The parser reads the wall clock in the session time zone; re-read it in the contract's.
    wall_clock = F.from_utc_timestamp(parsed, F.expr("current_timezone()"))
    return F.to_utc_timestamp(wall_clock, zone)


def typed_value(spec: ColumnSpec, default_tz: str = "UTC") -> Column:
    """The cleaned string column ``spec.name`` cast to the contract type; NULL if it does not fit.

    Integers must be whole numbers ("1.5" does not fit an int) within range; decimals that
    overflow their precision, malformed JSON for array/map/struct, unknown boolean tokens and
    text that does not match a timestamp/date ``format`` all give NULL.
    """
    col, kind = quote(spec.name), spec.type
    text = F.col(col)
    if kind == "string":
        return text
    if kind in _INTEGRAL:
        return F.when(text.rlike(_INTEGER_TEXT), F.expr(f"try_cast({col} AS {kind})"))
    if kind == "boolean":
        low = F.lower(text)
        return F.when(low.isin(*spec.true_values), F.lit(True)).when(
            low.isin(*spec.false_values), F.lit(False)
        )
    if kind == "timestamp":
        return _timestamp(col, spec, default_tz)
    if kind == "date":
        if spec.format:
            return F.to_date(F.expr(f"try_to_timestamp({col}, {_sql_literal(spec.format)})"))
        return F.expr(f"try_cast({col} AS date)")
    if kind.startswith(("array", "map", "struct")):
        parsed = F.from_json(text, kind, {"mode": "PERMISSIVE"})
        # from_json may answer a struct of NULLs for malformed text: require valid JSON too.
        return F.when(F.get_json_object(text, "$").isNotNull(), parsed)
    return F.expr(f"try_cast({col} AS {kind})")  # double, float, decimal(p,s)


def cast_failed(spec: ColumnSpec) -> Column:
    """True when the cleaned value was present but did not fit the type (never NULL)."""
    return F.col(f"{CLEAN}.{quote(spec.name)}").isNotNull() & F.col(quote(spec.name)).isNull()


def with_contract_types(df: DataFrame, contract: Contract) -> DataFrame:
    """Cast every contract column to its type, keeping the cleaned strings in ``_clean``."""
    clean = F.struct(*[F.col(quote(c.name)) for c in contract.columns]).alias(CLEAN)
    typed = [typed_value(c, contract.timezone).cast(c.type).alias(c.name) for c in contract.columns]
    others = [F.col(quote(c)) for c in df.columns if c not in contract.names]
    return df.select(*typed, *others, clean)


def to_conformed(df: DataFrame, contract: Contract, raw_value: RawValue | None = None) -> DataFrame:
    """Rename, clean and cast a bronze DataFrame (the three steps above, in order)."""
    return (
        df.transform(with_contract_columns, contract, raw_value)
        .transform(with_clean_strings, contract)
        .transform(with_contract_types, contract)
    )
