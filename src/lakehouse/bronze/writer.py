"""Build a batch's bronze DataFrame: read its files and apply the schema-evolution mode."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pyspark.sql import DataFrame
from pyspark.sql import functions as F  # noqa: N812

from lakehouse.bronze import readers, sniff
from lakehouse.bronze.rescue import to_bronze
from lakehouse.config.names import quote
from lakehouse.constants import METADATA_COLUMNS, SOURCE_FILE
from lakehouse.errors import SchemaDriftError
from lakehouse.io import delta
from lakehouse.silver.pii import protect_bronze

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from lakehouse.config.model import DatasetConfig


@dataclass
class Frame:
    """A batch read: the bronze DataFrame and what its columns looked like."""

    df: DataFrame | None
    new_columns: list[str] = field(default_factory=list)
    rescued_columns: list[str] = field(default_factory=list)
    columns: dict[str, list[str]] = field(default_factory=dict)  # data columns of each file


def table_columns(spark: SparkSession, path: str) -> list[str] | None:
    """Data columns of the bronze table, or None when it does not exist yet."""
    if not delta.table_exists(spark, path):
        return None
    return [c for c in delta.read_table(spark, path).columns if c not in METADATA_COLUMNS]


def table_types(spark: SparkSession, path: str) -> dict[str, str] | None:
    """Data column -> type of the bronze table, or None when it does not exist yet."""
    if not delta.table_exists(spark, path):
        return None
    schema = delta.read_table(spark, path).schema
    return {f.name: f.dataType.simpleString() for f in schema.fields if f.name not in METADATA_COLUMNS}


def _known(dataset: DatasetConfig, existing: list[str] | None) -> list[str] | None:
    names: list[str] = []
    if dataset.source.schema == "contract" and dataset.contract is not None:
        names.extend(dataset.contract.source_names)
    if existing is not None:
        names.extend(existing)
    if existing is None and not names:
        return None  # schema: infer and no table yet: whatever the files bring is the schema
    return list(dict.fromkeys(names))


def _raw_frame(
    spark: SparkSession,
    paths: list[str],
    headers: dict[str, tuple[str, ...]],
    dataset: DatasetConfig,
    known: list[str],
    types: dict[str, dict[str, str]] | None = None,
    retyped: dict[str, dict[str, tuple[str, str]]] | None = None,
) -> tuple[DataFrame, list[str]]:
    source = dataset.source
    if source.format == "csv":
        groups: dict[tuple[str, ...], list[str]] = {}
        for path in paths:
            groups.setdefault(headers[path], []).append(path)
        found = list(dict.fromkeys(c for h in groups for c in h))
        against = "header" if sniff.has_header(source) else "contract" if dataset.contract else "first row"
        return readers.read_csv(spark, groups, source, against), found
    if source.format == "json":
        return readers.read_json(spark, paths, source, known)
    table = table_types(spark, dataset.bronze_path)
    df = readers.read_typed(spark, _by_schema(paths, types or {}), source, table, retyped or {})
    return df, [c for c in df.columns if not readers.is_reader_column(c)]


def _by_schema(paths: list[str], types: dict[str, dict[str, str]]) -> list[list[str]]:
    """Typed files grouped by identical schema (Spark's schema merge refuses int with bigint)."""
    groups: dict[tuple[tuple[str, str], ...], list[str]] = {}
    for path in paths:
        groups.setdefault(tuple(sorted(types.get(path, {}).items())), []).append(path)
    return list(groups.values())


def _file_with(df: DataFrame, column: str, headers: dict[str, tuple[str, ...]]) -> str:
    for path, header in headers.items():
        if column in header:
            return path
    row = df.where(F.col(quote(column)).isNotNull()).select(SOURCE_FILE).first()
    return str(row[0]) if row else "?"


def build_frame(
    spark: SparkSession,
    dataset: DatasetConfig,
    paths: list[str],
    headers: dict[str, tuple[str, ...]],
    run_id: str,
    salt: str | None = None,
    types: dict[str, dict[str, str]] | None = None,
    retyped: dict[str, dict[str, tuple[str, str]]] | None = None,
) -> Frame:
    """Read ``paths`` and shape them as bronze rows, applying the schema-evolution mode.

    With ``pii: {at: bronze}`` in the contract, PII columns are protected (``salt`` for
    ``hash``) before anything is written.

    Raises :class:`SchemaDriftError` (naming a file and the new columns) in
    ``failOnNewColumns`` mode; ``rescue`` and ``none`` move unknown columns into
    ``_rescued_data`` (``none`` never drops values silently either). In those modes the
    orc/parquet columns of ``retyped`` (per file, a column whose type does not fit) are null
    and their values are in ``_rescued_data`` under the column's name.
    """
    if not paths:
        return Frame(None)
    source = dataset.source
    known = _known(dataset, table_columns(spark, dataset.bronze_path))
    raw, found = _raw_frame(spark, paths, headers, dataset, known or [], types, retyped)
    new = [c for c in found if known is not None and c not in known]
    if new and source.schema_evolution == "failOnNewColumns":
        raise SchemaDriftError(dataset=dataset.name, file=_file_with(raw, new[0], headers), new_columns=new)
    evolve = source.adds_columns or known is None
    keep = list(dict.fromkeys([*(known or []), *(new if evolve else []), *(found if known is None else [])]))
    frame = to_bronze(
        raw,
        keep=keep,
        rescue=[] if evolve else new,
        run_id=run_id,
        ingested_at=F.current_timestamp(),
        text=source.format in ("csv", "json"),
    )
    contract = dataset.contract
    if contract is not None and contract.pii_at == "bronze":
        frame = protect_bronze(frame, contract, salt)
    columns = {p: list(headers.get(p) or (types or {}).get(p) or found) for p in paths}
    return Frame(
        frame, new_columns=new if evolve else [], rescued_columns=[] if evolve else new, columns=columns
    )


def probe(
    spark: SparkSession, dataset: DatasetConfig, path: str, headers: dict[str, tuple[str, ...]]
) -> str | None:
    """Read one file completely (no output); the reason it cannot be read, or None.

    Used only after a batch failed, to tell which files are unreadable.
    """
    try:
        raw, _ = _raw_frame(spark, [path], headers, dataset, [])
        raw.write.format("noop").mode("overwrite").save()
    except Exception as exc:  # any failure to read is the answer
        return f"unreadable: {sniff.first_line(exc)}"
    return None
