"""Read the files of one batch into a single DataFrame, columns as landed.

csv and json columns are read as strings (silver casts); orc and parquet keep their types.
Every frame carries ``_source_file``, ``_file_modified_at`` and ``_error``/``_raw`` columns
(malformed-row information) that :mod:`lakehouse.bronze.rescue` folds into ``_rescued_data``.
"""

from __future__ import annotations

from functools import reduce
from typing import TYPE_CHECKING

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F  # noqa: N812
from pyspark.sql.types import StringType, StructField, StructType

from lakehouse.bronze.sniff import has_header, option, reader_options
from lakehouse.bronze.verdicts import fits_without_change
from lakehouse.config.names import quote
from lakehouse.constants import FILE_MODIFIED_AT, RETYPED_PREFIX, SOURCE_FILE

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from lakehouse.config.model import SourceConfig

CORRUPT = "_corrupt_record"
EXTRA = "_extra"
# Columns every reader adds besides the data: lineage, what a malformed row looked like, and
# how many fields beyond the expected ones a csv row had.
READER_COLUMNS = (SOURCE_FILE, FILE_MODIFIED_AT, "_error", "_raw", EXTRA)


def is_reader_column(name: str) -> bool:
    """Whether a column of a read frame is one a reader added (not data)."""
    return name in READER_COLUMNS or name.startswith(RETYPED_PREFIX)


def _metadata_cols() -> list[Column]:
    return [
        F.col("_metadata.file_path").alias(SOURCE_FILE),
        F.col("_metadata.file_modification_time").alias(FILE_MODIFIED_AT),
    ]


def _no_extra() -> Column:
    return F.lit(None).cast("int").alias(EXTRA)


def _string_schema(names: tuple[str, ...] | list[str], corrupt: bool = True) -> StructType:
    fields = [StructField(n, StringType()) for n in names]
    return StructType(fields + ([StructField(CORRUPT, StringType())] if corrupt else []))


def _java_literal(text: str) -> str:
    return "\\Q" + text + "\\E" if text else ""


def field_count(raw: Column, source: SourceConfig) -> Column:
    """Fields of a raw csv record: separators outside quoted values, plus one.

    Quoted values (with the source's ``quote`` and ``escape`` characters, doubled quotes
    included) are taken out first, so a separator inside quotes does not count. A test
    compares it with Spark's own tokenizer for each of these options.
    """
    sep = option(source, "sep", "delimiter", default=",") or ","
    sep = {"\\t": "\t"}.get(sep, sep)
    q = option(source, "quote", default='"') or ""
    esc = option(source, "escape", default="\\") or ""
    text = raw
    if q and q != "\u0000":
        qq, e = _java_literal(q), _java_literal(esc)
        inner = f"(?:{e}.|{qq}{qq}|(?!{qq}).)*" if esc else f"(?:{qq}{qq}|(?!{qq}).)*"
        text = F.regexp_replace(raw, f"(?s){qq}{inner}{qq}", "")
    return F.size(F.split(text, _java_literal(sep), -1))


def read_csv(
    spark: SparkSession,
    groups: dict[tuple[str, ...], list[str]],
    source: SourceConfig,
    against: str = "header",
) -> DataFrame:
    """One read per distinct header (usually one), unioned by column name.

    Spark maps csv tokens to a given schema by position, so files are grouped by their own
    header. A ``_corrupt_record`` column makes Spark keep the raw record of any row whose
    field count differs from the header instead of silently padding or truncating it; the
    message compares the row with ``against`` (the header, or the contract for headerless
    files), and ``_extra`` holds the number of fields beyond it.
    """
    frames = []
    for header, paths in groups.items():
        df = (
            spark.read.options(**reader_options(source))
            .options(
                header=str(has_header(source)).lower(),
                enforceSchema="true",
                mode="PERMISSIVE",
                columnNameOfCorruptRecord=CORRUPT,
            )
            .schema(_string_schema(header))
            .csv(paths)
        )
        raw = F.col(CORRUPT)
        count = field_count(raw, source)
        error = F.when(
            raw.isNotNull(),
            F.format_string(f"row has %d fields, {against} has %d", count, F.lit(len(header))),
        )
        extra = F.when(raw.isNotNull() & (count > len(header)), count - len(header))
        frames.append(
            df.select(
                *[F.col(quote(h)) for h in header],
                *_metadata_cols(),
                error.alias("_error"),
                raw.alias("_raw"),
                extra.alias(EXTRA),
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
    options = reader_options(source)
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
    data = [F.col(quote(n)) for n in names]
    return df.select(*data, *_metadata_cols(), error.alias("_error"), raw.alias("_raw"), _no_extra()), keys


def _move_retyped(df: DataFrame, retyped: dict[str, str], moved: list[str]) -> DataFrame:
    """Each ``moved`` column as text in its own reader column (null where this group's type
    fits); a column of ``retyped`` (column -> the type it keeps) becomes null of that type."""
    return df.withColumns(
        {
            **{
                RETYPED_PREFIX + c: (F.col(quote(c)) if c in retyped else F.lit(None)).cast("string")
                for c in moved
            },
            **{c: F.lit(None).cast(t) for c, t in retyped.items()},
        }
    )


def read_typed(
    spark: SparkSession,
    groups: list[list[str]],
    source: SourceConfig,
    table: dict[str, str] | None,
    retyped: dict[str, dict[str, tuple[str, str]]] | None = None,
) -> DataFrame:
    """orc/parquet: file types kept; one read per group of files with the same schema, unioned.

    A column narrower than the bronze table's (``table``: an int file, a bigint column) is
    cast to the table's type, which Delta would otherwise refuse to append. A column of
    ``retyped`` (per file: column -> (the type it keeps, reason)) is null in its files, its
    value kept as text in a ``RETYPED_PREFIX`` column for ``_rescued_data``.
    """
    reader = spark.read.format(source.format).options(**reader_options(source)).option("mergeSchema", "true")
    retyped = retyped or {}
    moved = sorted({c for columns in retyped.values() for c in columns})
    # Lineage is selected per read: ``_metadata`` does not resolve above a union.
    frames = [
        _move_retyped(
            reader.load(g).select("*", *_metadata_cols()),
            {c: t for p in g for c, (t, _) in retyped.get(p, {}).items()},
            moved,
        )
        for g in groups
    ]
    df = reduce(lambda a, b: a.unionByName(b, allowMissingColumns=True), frames)
    wanted = {k.lower(): t for k, t in (table or {}).items()}
    casts = {
        f.name: F.col(quote(f.name)).cast(wanted[f.name.lower()])
        for f in df.schema.fields
        if f.name.lower() in wanted
        and "<" not in wanted[f.name.lower()]
        and fits_without_change(f.dataType.simpleString(), wanted[f.name.lower()])
        and f.dataType.simpleString() != wanted[f.name.lower()]
    }
    df = df.withColumns(casts) if casts else df
    return df.select(
        "*",
        F.lit(None).cast("string").alias("_error"),
        F.lit(None).cast("string").alias("_raw"),
        _no_extra(),
    )
