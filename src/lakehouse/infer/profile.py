"""Profile a dataset's landed files with Spark: two aggregate queries, however many columns.

The sample is read exactly as bronze would read it (csv and json values as strings, orc and
parquet typed) and cleaned as silver would clean it (trimmed, null tokens to NULL). Query 1 is
one aggregate computing, for every column at once, the null and token counts, the result of
every candidate type cast (silver's own cast expressions), shapes, lengths and ranges. Query 2,
after the types are chosen, computes exact distinct counts for primary-key candidates and the
distinct values of low-cardinality columns.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F  # noqa: N812

from lakehouse.bronze import writer
from lakehouse.bronze.listing import list_landing
from lakehouse.bronze.sniff import inspect_files
from lakehouse.config.contract import ColumnSpec
from lakehouse.config.names import quote
from lakehouse.constants import METADATA_COLUMNS as METADATA
from lakehouse.errors import LakehouseError
from lakehouse.infer.candidates import BOOLEAN_WORDS, NULL_TOKENS, Candidate, text_candidates
from lakehouse.io import files
from lakehouse.transforms.conform import typed_value

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from lakehouse.config.model import DatasetConfig

_LOWER = "abcdefghijklmnopqrstuvwxyz"
_DIGITS = "0123456789"


@contextmanager
def new_datetime_parser(spark: SparkSession) -> Iterator[None]:
    """Parse dates and timestamps with the new parser only while profiling (Spark 4's default).

    Profiling tries date and timestamp patterns that do not fit most values. Spark 3.5's default
    ``spark.sql.legacy.timeParserPolicy`` (EXCEPTION) then fails the whole query when a value the
    legacy parser would accept does not fit (e.g. ``2026-03-01 07:46:00`` as ``yyyy-MM-dd``)
    instead of returning NULL. The setting is restored afterwards.
    """
    key = "spark.sql.legacy.timeParserPolicy"
    before = str(spark.conf.get(key))
    if before.upper() != "EXCEPTION":
        yield
        return
    spark.conf.set(key, "CORRECTED")
    try:
        yield
    finally:
        spark.conf.set(key, before)


@dataclass
class ColumnStats:
    """What query 1 found about one column (values trimmed, null tokens as NULL)."""

    source: str
    spark_type: str
    typed_source: bool
    nulls: int
    tokens: list[str]
    fails: dict[str, int]
    values: dict[str, Any] = field(default_factory=dict)

    def get(self, key: str) -> Any:
        return self.values.get(key)


@dataclass
class Sample:
    """The files profiled and the rows read from them."""

    files: list[str]
    files_listed: int
    rows: int = 0
    rescued: int = 0
    bad_files: dict[str, str] = field(default_factory=dict)
    empty_files: list[str] = field(default_factory=list)


def read_sample(spark: SparkSession, dataset: DatasetConfig, sample_files: int) -> tuple[DataFrame, Sample]:
    """The newest ``sample_files`` landed files of ``dataset`` as bronze rows (nothing written)."""
    source = dataset.source
    if not files.exists(spark, source.path):
        raise LakehouseError(f"dataset {dataset.name!r}: landing path {source.path} does not exist")
    listed = sorted(list_landing(spark, source.path, source.pattern), key=lambda e: (e.mtime, e.path))
    chosen = listed[-sample_files:]
    look = inspect_files(spark, [(e.path, e.size, e.mtime) for e in chosen], source)
    paths = [e.path for e in chosen if e.path not in look.empty and e.path not in look.bad]
    sample = Sample(paths, len(listed), bad_files=dict(look.bad), empty_files=sorted(look.empty))
    if not paths:
        raise LakehouseError(
            f"dataset {dataset.name!r}: no readable, non-empty file under {source.path} "
            f"({len(listed)} listed{', pattern ' + source.pattern if source.pattern else ''})"
        )
    # As on a first bronze load: no contract, no existing table, whatever the files bring.
    fresh = replace(
        dataset,
        contract=None,
        source=replace(source, schema="infer"),
        bronze_path=dataset.bronze_path.rstrip("/") + "/_infer_contract_never_written",
    )
    frame = writer.build_frame(spark, fresh, paths, look.headers, "infer-contract")
    assert frame.df is not None
    return frame.df, sample


def _shape(value: Column) -> Column:
    """Letters to a/A, digits to 9, everything else kept: 'dev-00042' -> 'aaa-99999'."""
    return F.translate(value, _LOWER + _LOWER.upper() + _DIGITS, "a" * 26 + "A" * 26 + "9" * 10)


def _count(condition: Column) -> Column:
    return F.sum(F.when(condition, 1).otherwise(0))


def _text_aggregates(i: int, candidates: tuple[Candidate, ...]) -> list[Column]:
    v = F.col(f"v{i}")
    number = F.expr(f"try_cast(v{i} AS double)")
    plain = v.rlike(r"^[+-]?[0-9]+\.[0-9]+$")
    found = [
        _count(v.rlike(r"^[+-]?0[0-9]")).alias(f"c{i}_lead0"),
        _count(v.rlike(r"^[+-]?[0-9]+$")).alias(f"c{i}_dotless"),
        _count(plain).alias(f"c{i}_plain"),
        F.min(F.when(plain, F.length(F.regexp_extract(v, r"\.([0-9]+)$", 1)))).alias(f"c{i}_scale_min"),
        F.max(F.when(plain, F.length(F.regexp_extract(v, r"\.([0-9]+)$", 1)))).alias(f"c{i}_scale_max"),
        F.max(F.length(F.regexp_extract(v, r"^[+-]?0*([0-9]+)", 1))).alias(f"c{i}_int_digits"),
        _count(v.isNotNull() & ~F.lower(v).isin(*BOOLEAN_WORDS)).alias(f"c{i}_nonbool"),
        F.collect_set(F.when(F.lower(v).isin(*BOOLEAN_WORDS), F.lower(v))).alias(f"c{i}_bools"),
        F.min(_shape(v)).alias(f"c{i}_shape_min"),
        F.max(_shape(v)).alias(f"c{i}_shape_max"),
        F.min(v).alias(f"c{i}_vmin"),
        F.max(v).alias(f"c{i}_vmax"),
        F.min(F.length(v)).alias(f"c{i}_len_min"),
        F.max(F.length(v)).alias(f"c{i}_len_max"),
        F.min(number).alias(f"c{i}_num_min"),
        F.max(number).alias(f"c{i}_num_max"),
    ]
    for c in candidates:
        failed = v.isNotNull() & typed_value(c.spec(f"v{i}")).isNull()
        found.append(_count(failed).alias(f"c{i}_fail_{c.key}"))
    return found


def _typed_aggregates(i: int, contract_type: str) -> list[Column]:
    v = F.col(f"v{i}")
    spec = ColumnSpec(name=f"v{i}", type=contract_type)
    number = F.expr(f"try_cast(v{i} AS double)")
    return [
        _count(v.isNotNull() & typed_value(spec).isNull()).alias(f"c{i}_fail_source"),
        F.min(number).alias(f"c{i}_num_min"),
        F.max(number).alias(f"c{i}_num_max"),
        F.min(_shape(v)).alias(f"c{i}_shape_min"),
        F.max(_shape(v)).alias(f"c{i}_shape_max"),
        F.min(v).alias(f"c{i}_vmin"),
        F.max(v).alias(f"c{i}_vmax"),
    ]


def cleaned(df: DataFrame, columns: list[str]) -> DataFrame:
    """``t<i>``: the trimmed text of column i; ``v<i>``: the same with null tokens as NULL.

    ``_ok`` is false for rows bronze rescued as malformed: they are quarantined whatever the
    contract says, so their values (NULL here) take no part in the profile.
    """
    ok = F.col("_rescued_data").isNull()
    texts = [F.when(ok, F.trim(F.col(quote(c)).cast("string"))).alias(f"t{i}") for i, c in enumerate(columns)]
    values = [
        F.when(F.col(f"t{i}").isin(*NULL_TOKENS), F.lit(None).cast("string")).otherwise(F.col(f"t{i}"))
        for i in range(len(columns))
    ]
    return df.select(ok.alias("_ok"), *texts).select("*", *[v.alias(f"v{i}") for i, v in enumerate(values)])


def data_columns(df: DataFrame) -> list[str]:
    return [c for c in df.columns if c not in METADATA]


def column_stats(df: DataFrame, typed: dict[str, str]) -> tuple[Sample, list[ColumnStats]]:
    """Query 1. ``typed`` maps each orc/parquet column to its contract type (text columns: absent).

    Returns the row counts (in a :class:`Sample` without files) and the stats per column.
    """
    columns = data_columns(df)
    candidates = text_candidates()
    ok = F.col("_ok")
    aggregates: list[Column] = [_count(ok).alias("rows"), _count(~ok).alias("rescued")]
    for i, name in enumerate(columns):
        v = F.col(f"v{i}")
        t = F.col(f"t{i}")
        aggregates += [
            _count(ok & v.isNull()).alias(f"c{i}_nulls"),
            F.approx_count_distinct(v).alias(f"c{i}_approx"),
            F.collect_set(F.when(t.isin(*NULL_TOKENS), t)).alias(f"c{i}_tokens"),
        ]
        source_type = typed.get(name)
        aggregates += _typed_aggregates(i, source_type) if source_type else _text_aggregates(i, candidates)
    row = cleaned(df, columns).agg(*aggregates).first()
    assert row is not None
    found = row.asDict()
    stats = []
    types = dict(df.dtypes)
    for i, name in enumerate(columns):
        prefix = f"c{i}_"
        values = {k[len(prefix) :]: v for k, v in found.items() if k.startswith(prefix)}
        fails = {k[len("fail_") :]: int(v or 0) for k, v in values.items() if k.startswith("fail_")}
        stats.append(
            ColumnStats(
                source=name,
                spark_type=types[name],
                typed_source=name in typed,
                nulls=int(values.pop("nulls") or 0),
                tokens=sorted(values.pop("tokens", None) or []),
                fails=fails,
                values={k: v for k, v in values.items() if not k.startswith("fail_")},
            )
        )
    counts = Sample([], 0, rows=int(found["rows"] or 0), rescued=int(found["rescued"] or 0))
    return counts, stats


def exact_counts(
    df: DataFrame, typed_values: dict[int, Column], keys: list[tuple[int, ...]], listed: list[int]
) -> tuple[dict[tuple[int, ...], int], dict[int, list[str]]]:
    """Query 2: distinct typed key values per candidate key, distinct values of ``listed`` columns.

    ``typed_values`` holds, per column index, silver's cast of ``v<i>`` to the chosen type.
    """
    aggregates = [
        F.count_distinct(*[typed_values[i] for i in key]).alias("k" + "_".join(map(str, key))) for key in keys
    ]
    aggregates += [F.collect_set(F.col(f"v{i}")).alias(f"s{i}") for i in listed]
    if not aggregates:
        return {}, {}
    row = df.filter("_ok").agg(*aggregates).first()
    assert row is not None
    distinct = {key: int(row["k" + "_".join(map(str, key))]) for key in keys}
    return distinct, {i: sorted(row[f"s{i}"]) for i in listed}
