"""Read the files of one batch into a single DataFrame, columns as landed.

csv and json columns are read as strings (silver casts); orc and parquet keep their types.
Every frame carries ``_source_file``, ``_file_modified_at`` and ``_error``/``_raw`` columns
(malformed-row information) that :mod:`lakehouse.bronze.rescue` folds into ``_rescued_data``.
"""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass, field
from functools import reduce
from typing import TYPE_CHECKING

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F  # noqa: N812
from pyspark.sql.types import StringType, StructField, StructType

from lakehouse.config.names import quote
from lakehouse.constants import FILE_MODIFIED_AT, SOURCE_FILE
from lakehouse.io.files import head

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from lakehouse.config.model import SourceConfig

CORRUPT = "_corrupt_record"
# Columns every reader adds besides the data: lineage, and what a malformed row looked like.
READER_COLUMNS = (SOURCE_FILE, FILE_MODIFIED_AT, "_error", "_raw")
SNIFF_BYTES = 64 * 1024
# Options bronze decides itself: it keeps values as landed and detects malformed rows.
_OWNED = {
    "header",
    "inferschema",
    "enforceschema",
    "mode",
    "columnnameofcorruptrecord",
    "nullvalue",
    "samplingratio",
    "primitivesasstring",
}


@dataclass
class Inspection:
    """What a quick look at the start of each file found (csv headers, unreadable files)."""

    headers: dict[str, tuple[str, ...]] = field(default_factory=dict)
    empty: set[str] = field(default_factory=set)
    bad: dict[str, str] = field(default_factory=dict)


def encoding(source: SourceConfig) -> str:
    """The configured text encoding (``encoding`` or ``charset`` option), default UTF-8."""
    return source.options.get("encoding", source.options.get("charset", "UTF-8"))


def _reader_options(source: SourceConfig) -> dict[str, str]:
    return {k: v for k, v in source.options.items() if k.lower() not in _OWNED}


def _has_header(source: SourceConfig) -> bool:
    return source.options.get("header", "true").lower() == "true"


def _parse_header(data: bytes, source: SourceConfig) -> tuple[str, ...]:
    # utf-8-sig drops a BOM so the first column is not named "\ufeffdevice_id".
    name = encoding(source)
    text = data.decode("utf-8-sig" if codecs.lookup(name).name == "utf-8" else name, errors="replace")
    sep = source.options.get("sep", source.options.get("delimiter", ","))
    quote = source.options.get("quote", '"') or '"'
    first = next(csv.reader(io.StringIO(text), delimiter=sep, quotechar=quote), [])
    return tuple(col.strip("\ufeff") or f"_c{i}" for i, col in enumerate(first))


def inspect_files(
    spark: SparkSession,
    files: list[tuple[str, int, int]],
    source: SourceConfig,
    positional: tuple[str, ...] = (),
) -> Inspection:
    """Read the first bytes of each csv/json file, decompressed as Spark would read it.

    A corrupt gzip fails here, before any plan is written, so it can be set aside as a bad
    file. Costs one small read per new file; orc and parquet are not inspected. Headerless
    csv columns take the ``positional`` names (the contract's), then ``_c<i>``.
    """
    found = Inspection()
    if source.format not in ("csv", "json"):
        return found
    for path, size, _ in files:
        try:
            data = head(spark, path, SNIFF_BYTES) if size else b""
        except Exception as exc:  # any read failure makes the file bad
            found.bad[path] = f"unreadable: {first_line(exc)}"
            continue
        if not data.strip():
            found.empty.add(path)
        elif source.format == "csv":
            row = _parse_header(data, source)
            found.headers[path] = (
                row
                if _has_header(source)
                else tuple(positional[i] if i < len(positional) else f"_c{i}" for i in range(len(row)))
            )
    return found


def first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    for line in text:
        if "Exception" in line or "Error" in line:
            return line.strip()[:300]
    return (text[0] if text else type(exc).__name__)[:300]


def _metadata_cols() -> list[Column]:
    return [
        F.col("_metadata.file_path").alias(SOURCE_FILE),
        F.col("_metadata.file_modification_time").alias(FILE_MODIFIED_AT),
    ]


def _string_schema(names: tuple[str, ...] | list[str], corrupt: bool = True) -> StructType:
    fields = [StructField(n, StringType()) for n in names]
    return StructType(fields + ([StructField(CORRUPT, StringType())] if corrupt else []))


def _field_count(raw: Column, sep: str) -> Column:
    # Counted by separator: good enough for a message; the exact line is kept in _raw.
    return F.size(F.split(raw, "\\Q" + sep + "\\E", -1))


def read_csv(
    spark: SparkSession, groups: dict[tuple[str, ...], list[str]], source: SourceConfig
) -> DataFrame:
    """One read per distinct header (usually one), unioned by column name.

    Spark maps csv tokens to a given schema by position, so files are grouped by their own
    header. A ``_corrupt_record`` column makes Spark keep the raw line of any row whose
    field count differs from the header instead of silently padding or truncating it.
    """
    sep = source.options.get("sep", source.options.get("delimiter", ","))
    frames = []
    for header, paths in groups.items():
        df = (
            spark.read.options(**_reader_options(source))
            .options(
                header=str(_has_header(source)).lower(),
                enforceSchema="true",
                mode="PERMISSIVE",
                columnNameOfCorruptRecord=CORRUPT,
            )
            .schema(_string_schema(header))
            .csv(paths)
        )
        raw = F.col(CORRUPT)
        error = F.when(
            raw.isNotNull(),
            F.format_string("row has %d fields, header has %d", _field_count(raw, sep), F.lit(len(header))),
        )
        frames.append(
            df.select(
                *[F.col(quote(h)) for h in header],
                *_metadata_cols(),
                error.alias("_error"),
                raw.alias("_raw"),
            )
        )
    return reduce(lambda a, b: a.unionByName(b, allowMissingColumns=True), frames)


def read_json(
    spark: SparkSession, paths: list[str], source: SourceConfig, known: list[str]
) -> tuple[DataFrame, list[str]]:
    """Infer the top-level keys of the batch, then read every key as a string.

    A string column that meets an object or array keeps its JSON text, so no value is lost;
    a line that is not JSON keeps its raw text.
    """
    options = _reader_options(source)
    keys = [k for k in spark.read.options(**options).json(paths).columns if k != CORRUPT]
    names = list(dict.fromkeys([*known, *keys]))
    df = (
        spark.read.options(**options)
        .options(mode="PERMISSIVE", columnNameOfCorruptRecord=CORRUPT)
        .schema(_string_schema(names))
        .json(paths)
    )
    raw = F.col(CORRUPT)
    error = F.when(raw.isNotNull(), F.lit("malformed JSON record"))
    return df.select(
        *[F.col(quote(n)) for n in names], *_metadata_cols(), error.alias("_error"), raw.alias("_raw")
    ), keys


def read_typed(spark: SparkSession, paths: list[str], source: SourceConfig) -> DataFrame:
    """orc/parquet: file types kept, schemas of the batch's files merged."""
    df = (
        spark.read.format(source.format)
        .options(**_reader_options(source))
        .option("mergeSchema", "true")
        .load(paths)
    )
    return df.select(
        "*",
        *_metadata_cols(),
        F.lit(None).cast("string").alias("_error"),
        F.lit(None).cast("string").alias("_raw"),
    )
