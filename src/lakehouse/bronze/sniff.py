"""A quick look at each new file before a batch is read: csv headers and file-level verdicts.

The first bytes of each csv/json file are read (decompressed as Spark would, see
:func:`lakehouse.io.files.head`): an empty file is noted, a file that cannot be read as
configured gets a reason (:mod:`lakehouse.bronze.verdicts`) and is set aside as a bad file.
A csv header is parsed by Spark's own csv reader with the source's options (``comment``,
``sep``, ``quote``, ``escape``, ``encoding``, ``lineSep``, ``multiLine``...), so bronze
names the columns exactly as the read that follows tokenizes the rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lakehouse.bronze import verdicts
from lakehouse.io.files import head

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from lakehouse.config.model import SourceConfig

SNIFF_BYTES = 64 * 1024
# Options bronze decides itself: it keeps values as landed and detects malformed rows.
OWNED = frozenset(
    {
        "header",
        "inferschema",
        "enforceschema",
        "mode",
        "columnnameofcorruptrecord",
        "nullvalue",
        "samplingratio",
        "primitivesasstring",
    }
)


@dataclass
class Inspection:
    """What a quick look at the start of each file found (csv headers, unreadable files)."""

    headers: dict[str, tuple[str, ...]] = field(default_factory=dict)
    empty: set[str] = field(default_factory=set)
    bad: dict[str, str] = field(default_factory=dict)
    types: dict[str, dict[str, str]] = field(default_factory=dict)  # orc/parquet: column -> type
    # orc/parquet under schema_evolution rescue/none: column -> (type it keeps, reason)
    retyped: dict[str, dict[str, tuple[str, str]]] = field(default_factory=dict)


def option(source: SourceConfig, *names: str, default: str | None = None) -> str | None:
    """A reader option by any of its names, case-insensitively (Spark's options are)."""
    wanted = {n.lower() for n in names}
    for key, value in source.options.items():
        if key.lower() in wanted:
            return value
    return default


def encoding(source: SourceConfig) -> str:
    """The configured text encoding (``encoding`` or ``charset`` option), default UTF-8."""
    return option(source, "encoding", "charset", default="UTF-8") or "UTF-8"


def reader_options(source: SourceConfig) -> dict[str, str]:
    """The user's reader options, without the ones bronze sets itself."""
    return {k: v for k, v in source.options.items() if k.lower() not in OWNED}


def has_header(source: SourceConfig) -> bool:
    """Whether csv files start with a header row (``header``, default true)."""
    return (option(source, "header", default="true") or "").lower() == "true"


def multiline(source: SourceConfig) -> bool:
    """Whether ``multiLine`` is on."""
    return (option(source, "multiLine", default="false") or "").lower() == "true"


def first_line(exc: BaseException) -> str:
    """The line of an exception's message that says what went wrong (at most 300 characters)."""
    text = str(exc).strip().splitlines()
    for line in text:
        if "Exception" in line or "Error" in line:
            return line.strip()[:300]
    return (text[0] if text else type(exc).__name__)[:300]


def spark_header(spark: SparkSession, path: str, source: SourceConfig) -> tuple[str, ...]:
    """The first record of a csv file as Spark's reader parses it with the source's options.

    With ``header`` on, the column names Spark gives (blank names become ``_c<i>``, duplicates
    are numbered); without, ``_c0`` .. ``_c<n-1>`` for the first record's ``n`` fields. Only
    the first record is read (Spark's schema inference, no data scan). An empty tuple when the
    file holds no record (only blank or comment lines).
    """
    reader = spark.read.options(**reader_options(source)).options(
        header=str(has_header(source)).lower(), inferSchema="false"
    )
    return tuple(reader.csv(path).columns)


def _verdict(name: str, data: bytes, source: SourceConfig) -> str | None:
    found = verdicts.compression_verdict(name, data)
    if found or source.format != "json":
        return found
    complete = len(data) < SNIFF_BYTES  # the whole (decompressed) file was read
    enc = encoding(source)
    auto = option(source, "encoding", "charset") is None and multiline(source)
    if not auto:  # with multiLine and no encoding, Spark detects UTF-16/32 itself
        found = verdicts.encoding_verdict(data, enc, complete=complete)
    return found or verdicts.json_verdict(data, enc, multiline=multiline(source))


def _typed(
    spark: SparkSession, files: list[tuple[str, int, int]], source: SourceConfig, table: dict[str, str] | None
) -> Inspection:
    found = Inspection()
    for path, _, _ in files:
        try:
            schema = spark.read.format(source.format).options(**reader_options(source)).load(path).schema
        except Exception as exc:  # an unreadable footer makes the file bad
            found.bad[path] = f"unreadable: {first_line(exc)}"
            continue
        found.types[path] = {f.name: f.dataType.simpleString() for f in schema.fields}
    if source.schema_evolution in ("rescue", "none"):
        found.retyped = verdicts.rescue_types(table, found.types)
    else:
        found.bad.update(verdicts.check_types(table, found.types))
    for path in found.bad:
        found.types.pop(path, None)
    return found


def inspect_files(
    spark: SparkSession,
    files: list[tuple[str, int, int]],
    source: SourceConfig,
    positional: tuple[str, ...] = (),
    table: dict[str, str] | None = None,
) -> Inspection:
    """Look at the first bytes of each csv/json file; csv headers as Spark parses them.

    A corrupt gzip, a file that cannot be read as configured (see
    :mod:`lakehouse.bronze.verdicts`) or a header Spark cannot parse is set aside here,
    before any plan is written. Costs one small read per new file, plus, for csv, Spark's
    parse of the first record (once per distinct first line, when that line is surely the whole
    record). Headerless csv columns take the ``positional`` names (the
    contract's) when given, else Spark's ``_c<i>``. orc and parquet files have their schema
    read (the footer) and compared with ``table`` (the bronze table's column types) and with
    each other: a file whose types do not fit is set aside, naming the column and both types
    (with ``schema_evolution: rescue`` or ``none`` it loads, those columns' values rescued).
    """
    if source.format in ("orc", "parquet"):
        return _typed(spark, files, source, table)
    found = Inspection()
    if source.format not in ("csv", "json"):
        return found
    parsed: dict[bytes, tuple[str, ...]] = {}  # first line -> Spark's header, see _first_line
    for path, size, _ in files:
        name = path.rstrip("/").rsplit("/", 1)[-1]
        try:
            data = head(spark, path, SNIFF_BYTES) if size else b""
        except Exception as exc:  # any read failure makes the file bad
            gz = verdicts.is_gzip_name(name)
            found.bad[path] = verdicts.gzip_error(name, exc) if gz else f"unreadable: {first_line(exc)}"
            continue
        reason = _verdict(name, data, source) if data.strip() else None
        if reason:
            found.bad[path] = reason
        elif not data.strip():
            found.empty.add(path)
        elif source.format == "csv":
            _csv_header(spark, path, source, positional, found, _first_line(data, source), parsed)
    return found


# Encodings in which a newline is the byte 0x0A and no other character contains it.
_BYTE_NEWLINE = frozenset({"utf8", "ascii", "usascii", "iso88591", "latin1", "windows1252", "cp1252"})


def _first_line(data: bytes, source: SourceConfig) -> bytes | None:
    """The file's first line when it is, for certain, the whole first record Spark parses (so
    files starting with the same line get the same header); None when that is not sure.

    Sure when: lines end in a newline byte (no ``lineSep`` option, a byte-newline encoding), the
    line was read to its end, is not blank (Spark skips blank lines), is not a comment, and
    holds no quote character (a quoted field could span lines).
    """
    if option(source, "lineSep") is not None:
        return None
    if encoding(source).lower().replace("-", "").replace("_", "") not in _BYTE_NEWLINE:
        return None
    line, newline, _ = data.partition(b"\n")
    line = line.rstrip(b"\r")
    quote = option(source, "quote", default='"') or ""
    comment = option(source, "comment") or ""
    if not newline or not line.strip() or (quote and quote.encode() in line):
        return None
    if comment and line.lstrip().startswith(comment.encode()):
        return None
    return line


def _csv_header(
    spark: SparkSession,
    path: str,
    source: SourceConfig,
    positional: tuple[str, ...],
    found: Inspection,
    line: bytes | None = None,
    parsed: dict[bytes, tuple[str, ...]] | None = None,
) -> None:
    """Spark's header of one file; ``parsed`` remembers it by first ``line`` (when sure), so a
    batch of files with one header line costs one Spark parse, not one per file."""
    if positional and not has_header(source):
        found.headers[path] = positional
        return
    memo = parsed if parsed is not None and line is not None else None
    try:
        header = memo.get(line) if memo is not None and line is not None else None
        header = header or spark_header(spark, path, source)
    except Exception as exc:  # Spark cannot parse the first record with these options
        found.bad[path] = f"unreadable: {first_line(exc)}"
        return
    if not header:
        found.empty.add(path)  # only blank or comment lines
    else:
        found.headers[path] = header
        if memo is not None and line is not None:
            memo[line] = header
