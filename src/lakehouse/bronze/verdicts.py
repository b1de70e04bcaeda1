"""File-level verdicts from the first bytes of a landed file: can it be read as configured?

Pure functions over the bytes bronze sniffs (decompressed as Spark would read them). Each
returns None when the file looks readable, or the reason it is set aside as a bad file: a
reason says what was found and which option to set, so the user can fix the source and the
file loads on the next run. Nothing here guesses a value for the user: a file is either read
as Spark reads it, or set aside whole; never turned into one junk row per line.
"""

from __future__ import annotations

import codecs
import json

GZIP_MAGIC = b"\x1f\x8b"
_GZIP_NAMES = (".gz", ".gzip")
_BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)

ARRAY_OVER_LINES = "top-level JSON array over several lines: set source.options.multiLine: true"
VALUE_OVER_LINES = "a JSON value spans several lines (pretty-printed): set source.options.multiLine: true"
SEVERAL_PRETTY = (
    "several pretty-printed JSON values in one file: Spark reads only the first with multiLine: true "
    "and fragments without it; land one value per line, or one array with multiLine: true"
)
SEVERAL_VALUES = (
    "several JSON values, one per line, but multiLine: true reads only the first: "
    "set source.options.multiLine: false"
)


def compression_verdict(name: str, data: bytes) -> str | None:
    """A gzip stream under a name Spark will not decompress (no ``.gz``): set aside."""
    if data.startswith(GZIP_MAGIC) and not name.lower().endswith(_GZIP_NAMES):
        return "gzip-compressed data but the name does not end in .gz: Spark would read the compressed bytes"
    return None


def gzip_error(name: str, exc: BaseException) -> str:
    """The reason for a file whose name promises gzip but whose bytes do not decompress."""
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"not a valid gzip file although the name ends in {name[name.rfind('.') :]} ({detail[:200]})"


def is_gzip_name(name: str) -> bool:
    """Whether Spark decompresses the file as gzip (by its name)."""
    return name.lower().endswith(_GZIP_NAMES)


def encoding_verdict(data: bytes, encoding: str, *, complete: bool) -> str | None:
    """Bytes that are not valid text in ``encoding`` (the file's configured encoding).

    ``complete`` says ``data`` is the whole file; otherwise a multi-byte character cut at the
    end of the sniffed bytes is not an error. An encoding Python does not know is Spark's
    to judge (None).
    """
    try:
        decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    except LookupError:
        return None
    try:
        decoder.decode(data, final=complete)
    except UnicodeDecodeError as exc:
        byte = data[exc.start : exc.start + 1].hex()
        return (
            f"not valid {encoding} text (byte 0x{byte} at offset {exc.start}): "
            "set source.options.encoding to the file's encoding"
        )
    return None


def _text(data: bytes, encoding: str) -> str:
    for bom in _BOMS:
        if data.startswith(bom):
            data = data[len(bom) :]
            encoding = {codecs.BOM_UTF8: "utf-8"}.get(bom, encoding)
            break
    try:
        return data.decode(encoding, errors="replace")
    except LookupError:
        return data.decode("utf-8", errors="replace")


def _first_line(body: str) -> str:
    return body.split("\n", 1)[0].rstrip("\r")


def json_verdict(data: bytes, encoding: str, *, multiline: bool) -> str | None:
    """A JSON file's layout that the configured ``multiLine`` would read wrongly.

    Without ``multiLine`` Spark reads one JSON value per line: a pretty-printed array or
    object would become fragments (an array on one line is fine: Spark reads its elements).
    With ``multiLine`` Spark reads one value per file: JSON lines would lose every line but
    the first. A malformed first line is not a verdict: Spark keeps it as a rescued row.
    """
    body = _text(data, encoding).lstrip()
    if not body:
        return None
    decoder = json.JSONDecoder()
    first = _first_line(body)
    if not multiline:
        if not body.startswith(("[", "{")) or _parses(first):
            return None
        try:
            _, end = decoder.raw_decode(body)
        except json.JSONDecodeError as exc:
            if exc.pos <= len(first):
                return None  # the first line itself is malformed: a rescued row, not a layout
            end = len(body)
        if end <= len(first):
            return None
        if body[end:].lstrip().startswith(("{", "[")):
            return SEVERAL_PRETTY
        return ARRAY_OVER_LINES if body.startswith("[") else VALUE_OVER_LINES
    try:
        _, end = decoder.raw_decode(body)
    except json.JSONDecodeError:
        return None  # cut by the sniff limit or malformed: Spark's to judge
    rest = body[end:].lstrip()
    if not rest.startswith(("{", "[")):
        return None
    return SEVERAL_VALUES if end <= len(first) else SEVERAL_PRETTY


def _parses(line: str) -> bool:
    try:
        json.loads(line)
    except ValueError:
        return False
    return True


_INTEGRAL = ("tinyint", "smallint", "int", "bigint")


def fits_without_change(file_type: str, table_type: str) -> bool:
    """Whether values of ``file_type`` go into a ``table_type`` column as they are (the same
    type, or a smaller integer into a larger one, which Delta casts on append)."""
    if file_type == table_type:
        return True
    if file_type in _INTEGRAL and table_type in _INTEGRAL:
        return _INTEGRAL.index(file_type) < _INTEGRAL.index(table_type)
    return file_type == "float" and table_type == "double"


def type_change(column: str, file_type: str, known_type: str, where: str) -> str:
    """The reason a file is set aside for a column type that does not fit."""
    return f"column {column!r} is {file_type} in this file but {known_type} in {where}"


def _atomic(type_name: str) -> bool:
    return "<" not in type_name


def _conflicts(
    table: dict[str, str] | None, files: dict[str, dict[str, str]], *, loaded: bool
) -> dict[str, list[tuple[str, str, str]]]:
    """Per file (in batch order) its columns whose type does not fit: (column, type it takes,
    reason). ``loaded``: a file with conflicts still loads (its other columns' types count for
    the files after it); otherwise it is set aside and only its first conflict is named."""
    known = {k.lower(): (t, "the bronze table") for k, t in (table or {}).items()}
    found: dict[str, list[tuple[str, str, str]]] = {}
    for path, columns in files.items():
        name = path.rstrip("/").rsplit("/", 1)[-1]
        seen: dict[str, tuple[str, str]] = {}
        bad: list[tuple[str, str, str]] = []
        for column, file_type in columns.items():
            entry = known.get(column.lower())
            if entry is None:
                seen[column.lower()] = (file_type, f"{name} of the same batch")
                continue
            known_type, where = entry
            if not (_atomic(file_type) and _atomic(known_type)) or fits_without_change(file_type, known_type):
                continue
            bad.append((column, known_type, type_change(column, file_type, known_type, where)))
            if not loaded:
                break
        if bad:
            found[path] = bad
        if loaded or not bad:
            known.update(seen)
    return found


def check_types(
    table: dict[str, str] | None,
    files: dict[str, dict[str, str]],
) -> dict[str, str]:
    """Files (in batch order) whose column types do not fit, with the reason for each.

    A column's type is the bronze table's, or for a column the table lacks, the first file
    of the batch that has it. A file fits when each of its columns has that type or one Delta
    takes as it is (a smaller integer into a larger one). Nested types are left to Delta.
    """
    return {path: bad[0][2] for path, bad in _conflicts(table, files, loaded=False).items()}


def rescue_types(
    table: dict[str, str] | None,
    files: dict[str, dict[str, str]],
) -> dict[str, dict[str, tuple[str, str]]]:
    """``schema_evolution: rescue``/``none``: per file, each column whose type does not fit
    (as :func:`check_types` judges it), with the type the column keeps and the reason. The
    file loads; those columns' values go to ``_rescued_data`` instead."""
    return {
        path: {column: (known, reason) for column, known, reason in bad}
        for path, bad in _conflicts(table, files, loaded=True).items()
    }
