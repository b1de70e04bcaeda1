"""From column statistics to a draft contract column: pure decisions, each with its reason.

Every rule the draft proposes holds for every sampled value, so the draft quarantines
nothing on its own sample. Ranges are rounded out to powers of ten (an order-of-magnitude
guard, not the sample's exact extremes); the comments give what was observed.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from lakehouse.infer.candidates import BOOLEAN_PAIRS, DATE_FORMATS, TIMESTAMP_FORMATS, typed_source_type
from lakehouse.infer.profile import ColumnStats

INTEGRAL = ("tinyint", "smallint", "int", "bigint")
NUMERIC = (*INTEGRAL, "float", "double")
WRITTEN = {"bigint": "long", "smallint": "short", "tinyint": "byte"}
MAX_ALLOWED = 12
MAX_PATTERN_LENGTH = 64


@dataclass
class ColumnDraft:
    """One column of the draft; ``notes`` explain each key (rendered as comments)."""

    name: str
    source: str
    type: str = "string"
    format: str | None = None
    nullable: bool = True
    min: float | None = None
    max: float | None = None
    allowed: list[str] | None = None
    pattern: str | None = None
    true_values: list[str] | None = None
    false_values: list[str] | None = None
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def written_type(self) -> str:
        return WRITTEN.get(self.type, self.type)

    @property
    def numeric(self) -> bool:
        return self.type in NUMERIC or self.type.startswith("decimal(")


def column_name(source: str, taken: set[str]) -> str:
    """A snake_case contract name for a landed column name (unique within ``taken``)."""
    text = re.sub(r"[^0-9a-zA-Z]+", "_", source).strip("_")
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text).lower() or "column"
    if text[0].isdigit():
        text = f"c_{text}"
    name, n = text, 2
    while name in taken:
        name, n = f"{text}_{n}", n + 1
    taken.add(name)
    return name


def number_text(value: float) -> str:
    """A number as the draft writes it: integers without a decimal point."""
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else f"{value:g}"


def _field_order(pattern: str) -> str:
    return re.sub(r"[^yMdHhmsSX]", "", re.sub(r"(\w)\1+", r"\1", pattern))


def _span(low: float | None, high: float | None) -> str:
    return f"{number_text(low)} .. {number_text(high)}" if low is not None and high is not None else "?"


def _text_type(col: ColumnDraft, s: ColumnStats, nonnull: int) -> None:
    fails, get = s.fails, s.get
    span = _span(get("num_min"), get("num_max"))
    if get("dotless") == nonnull:
        if get("lead0"):
            col.notes["type"] = f"whole numbers with leading zeros (e.g. {get('vmin')}): kept as text"
        elif fails["int"] == 0:
            col.type, col.notes["type"] = "int", f"whole numbers, {span}"
        elif fails["bigint"] == 0:
            col.type, col.notes["type"] = (
                "bigint",
                f"whole numbers beyond int, {span}",
            )
        elif (get("int_digits") or 0) <= 38:
            col.type = f"decimal({get('int_digits')},0)"
            col.notes["type"] = "whole numbers too large for long"
        return
    scale = get("scale_max")
    if get("plain") == nonnull and scale == get("scale_min") and (get("int_digits") or 0) + scale <= 36:
        precision = min(38, max(10, (get("int_digits") or 0) + scale + 2))
        col.type = f"decimal({precision},{scale})"
        col.notes["type"] = f"every value has {scale} decimal place{'s' if scale != 1 else ''}, {span}"
        return
    if fails["double"] == 0:
        col.type, col.notes["type"] = "double", f"decimal numbers, {span}"
        return
    if get("nonbool") == 0:
        seen = set(get("bools") or [])
        pairs = [p for p in BOOLEAN_PAIRS if p[0] in seen or p[1] in seen]
        col.type = "boolean"
        col.true_values, col.false_values = [p[0] for p in pairs], [p[1] for p in pairs]
        col.notes["type"] = "yes/no values: " + ", ".join(sorted(seen))
        return
    for kind, formats, prefix in (("date", DATE_FORMATS, "date"), ("timestamp", TIMESTAMP_FORMATS, "ts")):
        fitting = [f for i, f in enumerate(formats) if fails[f"{prefix}{i}"] == 0]
        if fitting:
            col.type, col.format = kind, fitting[0]
            # dd/MM/yyyy and MM/dd/yyyy both fit when no day is above 12: say so
            order = [f for f in fitting if _field_order(f) != _field_order(fitting[0])]
            col.notes["type"] = f"every value is a {kind} in format {fitting[0]}" + (
                f" (also fits {order[0]}: check which one the sender means)" if order else ""
            )
            return
    if fails["ts_cast"] == 0:
        col.type = "timestamp"
        col.notes["type"] = "ISO-8601 timestamps in more than one layout: read by Spark's cast, no format"
        return
    col.notes["type"] = "text"


def column_draft(s: ColumnStats, rows: int, name: str) -> ColumnDraft:
    """Type, format, nullability and range of one column."""
    col = ColumnDraft(name=name, source=s.source)
    nonnull = rows - s.nulls
    if s.typed_source:
        col.type = typed_source_type(s.spark_type) or "string"
        col.notes["type"] = f"typed by the file ({s.spark_type})" + (
            "" if col.type != "string" else ": kept as its text"
        )
    elif nonnull == 0:
        col.notes["type"] = "no value in the sample: type unknown, kept as text"
    else:
        _text_type(col, s, nonnull)
    col.nullable = s.nulls > 0
    col.notes["nullable"] = (
        f"{s.nulls} of {rows} rows null" if s.nulls else f"never null in {rows} rows"
    ) + (f" (null tokens seen: {', '.join(repr(t) for t in s.tokens)})" if s.tokens else "")
    if col.numeric and nonnull:
        _range(col, s)
    return col


def id_like(name: str) -> bool:
    """Names that say "identifier": id, *_id, *_key, *_code, *_no."""
    return name in ("id", "key") or name.endswith(("_id", "_key", "_code", "_no")) or name.startswith("id_")


def drop_range(col: ColumnDraft, why: str) -> None:
    """No range for a column whose values are identifiers (they grow)."""
    if col.min is not None or col.max is not None:
        col.min = col.max = None
        col.notes["range"] = col.notes["range"].split(";")[0] + f"; {why}: no range"


def _bound(value: float, up: bool) -> float:
    if value == 0 or (up and value < 0) or (not up and value > 0):
        return 0.0
    power = 10.0 ** math.ceil(math.log10(abs(value)))
    while power < abs(value):
        power *= 10
    return power if up else -power


def _range(col: ColumnDraft, s: ColumnStats) -> None:
    low, high = s.get("num_min"), s.get("num_max")
    if low is None or high is None or any(map(math.isnan, (low, high))) or math.isinf(high - low):
        return
    if col.type in INTEGRAL and id_like(col.name):
        col.notes["range"] = f"observed {_span(low, high)}; an identifier: no range"
        return
    col.min, col.max = _bound(low, up=False), _bound(high, up=True)
    col.notes["range"] = (
        f"observed {number_text(low)} .. {number_text(high)}; bounds rounded out to powers of ten"
    )


def code_pattern(s: ColumnStats) -> str | None:
    """A regular expression for values that all have one shape, e.g. ``^dev-[0-9]{5}$``."""
    shape, low, high = s.get("shape_min"), s.get("vmin"), s.get("vmax")
    if not shape or shape != s.get("shape_max") or not 2 <= len(shape) <= MAX_PATTERN_LENGTH:
        return None
    if not re.search(r"[9A]", shape):  # plain lower-case words are not codes
        return None
    prefix = ""
    for a, b in zip(low, high, strict=False):
        if a != b or a.isdigit():
            break
        prefix += a
    classes = {"a": "[a-z]", "A": "[A-Z]", "9": "[0-9]"}
    parts = [_escape(prefix)] if prefix else []
    for match in re.finditer(r"(.)\1*", shape[len(prefix) :]):
        char, size = match.group(1), len(match.group(0))
        if char in classes:
            parts.append(classes[char] + (f"{{{size}}}" if size > 1 else ""))
        else:
            parts.append(_escape(match.group(0)))
    pattern = "^" + "".join(parts) + "$"
    return pattern if re.match(pattern, low) and re.match(pattern, high) else None


def _escape(text: str) -> str:
    """Escape regex metacharacters only (the same in Python and Java regular expressions)."""
    return re.sub(r"([.^$*+?()\[\]{}|\\/])", r"\\\1", text)
