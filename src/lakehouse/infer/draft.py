"""Draft a contract for one dataset: read a sample, profile it, decide, check the keys."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lakehouse.config.contract import ColumnSpec
from lakehouse.infer.candidates import typed_source_type
from lakehouse.infer.decide import (
    MAX_ALLOWED,
    ColumnDraft,
    code_pattern,
    column_draft,
    column_name,
    drop_range,
    id_like,
)
from lakehouse.infer.profile import (
    ColumnStats,
    Sample,
    cleaned,
    column_stats,
    data_columns,
    exact_counts,
    new_datetime_parser,
    read_sample,
)
from lakehouse.transforms.conform import typed_value

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

    from lakehouse.config.model import DatasetConfig

_NOT_KEYS = ("double", "float", "boolean")
MAX_KEY_COLUMNS = 5


@dataclass
class Draft:
    """A drafted contract and what it was drawn from."""

    dataset: str
    source_path: str
    sample: Sample
    columns: list[ColumnDraft]
    null_tokens: list[str]
    token_columns: dict[str, list[str]] = field(default_factory=dict)
    primary_key: list[str] = field(default_factory=list)
    other_keys: list[list[str]] = field(default_factory=list)


def draft_contract(spark: SparkSession, dataset: DatasetConfig, sample_files: int = 20) -> Draft:
    """Profile the newest ``sample_files`` landed files of ``dataset`` (two aggregate queries)."""
    with new_datetime_parser(spark):
        return _draft(spark, dataset, sample_files)


def _draft(spark: SparkSession, dataset: DatasetConfig, sample_files: int) -> Draft:
    df, sample = read_sample(spark, dataset, sample_files)
    typed = {}
    if dataset.source.format in ("orc", "parquet"):
        typed = {c: typed_source_type(t) or "string" for c, t in df.dtypes if c in data_columns(df)}
    counts, stats = column_stats(df, typed)
    sample.rows, sample.rescued = counts.rows, counts.rescued
    taken: set[str] = set()
    columns = [column_draft(s, sample.rows, column_name(s.source, taken)) for s in stats]
    draft = Draft(dataset.name, dataset.source.path, sample, columns, *_tokens(stats, columns))
    _keys_and_values(cleaned(df, data_columns(df)), draft, stats)
    for col, s in zip(columns, stats, strict=True):
        if col.type == "string" and col.allowed is None:
            col.pattern = code_pattern(s)
            if col.pattern:
                col.notes["pattern"] = f"every value has the same shape ({s.get('vmin')} .. {s.get('vmax')})"
    return draft


def _tokens(stats: list[ColumnStats], columns: list[ColumnDraft]) -> tuple[list[str], dict[str, list[str]]]:
    seen: dict[str, list[str]] = {}
    for s, col in zip(stats, columns, strict=True):
        for token in s.tokens:
            seen.setdefault(token, []).append(col.name)
    return ["", *sorted(t for t in seen if t)], seen


def _typed(i: int, col: ColumnDraft) -> Column:
    spec = ColumnSpec(
        name=f"v{i}",
        type=col.type,
        format=col.format,
        true_values=tuple(col.true_values or ()),
        false_values=tuple(col.false_values or ()),
    )
    return typed_value(spec)


def _keys_and_values(df: DataFrame, draft: Draft, stats: list[ColumnStats]) -> None:
    """Query 2: which columns (or pairs) are unique, and the values of low-cardinality text."""
    rows, columns = draft.sample.rows, draft.columns
    never_null = [
        i
        for i, (col, s) in enumerate(zip(columns, stats, strict=True))
        if s.nulls == 0 and col.type not in _NOT_KEYS and rows > 1
    ]
    by_spread = sorted(never_null, key=lambda i: -(stats[i].get("approx") or 0))[:MAX_KEY_COLUMNS]
    singles: list[tuple[int, ...]] = [(i,) for i in never_null if (stats[i].get("approx") or 0) >= 0.9 * rows]
    pairs: list[tuple[int, ...]] = [tuple(sorted(p)) for p in itertools.combinations(by_spread, 2)]
    listed = [
        i
        for i, (col, s) in enumerate(zip(columns, stats, strict=True))
        if col.type == "string" and 0 < (s.get("approx") or 0) <= MAX_ALLOWED + 3 and rows - s.nulls >= 2
    ]
    keys: list[tuple[int, ...]] = [*singles, *pairs]
    typed = {i: _typed(i, columns[i]) for key in keys for i in key}
    distinct, values = exact_counts(df, typed, keys, listed)
    unique = [key for key in keys if distinct[key] == rows]
    unique_singles: list[tuple[int, ...]] = [k for k in unique if len(k) == 1]
    chosen = unique_singles or [k for k in unique if len(k) == 2]
    named = [[columns[i].name for i in key] for key in chosen]
    named.sort(key=lambda names: (not any(id_like(n) for n in names), len(names)))
    if named:
        draft.primary_key, draft.other_keys = named[0], named[1:4]
    if len(draft.primary_key) == 1:
        drop_range(next(c for c in columns if c.name == draft.primary_key[0]), "the primary key")
    for i, found in values.items():
        col = columns[i]
        nonnull = rows - stats[i].nulls
        if draft.primary_key == [col.name] or len(found) > MAX_ALLOWED or nonnull < 2 * len(found):
            continue
        col.allowed = found
        col.notes["allowed"] = f"{len(found)} distinct values in {nonnull}: a new value will be quarantined"
