"""Write a draft contract as YAML with a comment explaining each choice."""

from __future__ import annotations

import json
import re

import yaml

from lakehouse.config.contract import Contract, parse_contract
from lakehouse.config.node import Node, Origins
from lakehouse.infer.decide import ColumnDraft, number_text
from lakehouse.infer.draft import Draft

_NOTE_AT = 38


_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "y", "n"}


def _q(text: str) -> str:
    if _PLAIN.fullmatch(text) and text.lower() not in _YAML_WORDS:
        return text
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar


def _flow(items: list[str]) -> str:
    return "[" + ", ".join(_q(i) for i in items) + "]"


def _line(text: str, note: str | None = None) -> str:
    return f"{text.ljust(_NOTE_AT - 1)} # {note}" if note else text


def _column(col: ColumnDraft) -> list[str]:
    notes = col.notes
    lines = [f"  - name: {_q(col.name)}"]
    if col.source != col.name:
        lines.append(_line(f"    source: {_q(col.source)}", "the column's name in the files"))
    lines.append(_line(f"    type: {_q(col.written_type)}", notes.get("type")))
    if col.format:
        lines.append(_line(f"    format: {_q(col.format)}", "Spark datetime pattern"))
    if col.true_values is not None and col.false_values is not None:
        lines.append(f"    true_values: {_flow(col.true_values)}")
        lines.append(f"    false_values: {_flow(col.false_values)}")
    lines.append(_line(f"    nullable: {str(col.nullable).lower()}", notes.get("nullable")))
    if col.min is not None and col.max is not None:
        lines.append(_line(f"    min: {number_text(col.min)}", notes.get("range")))
        lines.append(f"    max: {number_text(col.max)}")
    elif notes.get("range"):
        lines.append(f"    # {notes['range']}")
    if col.allowed is not None:
        lines.append(_line(f"    allowed: {_flow(col.allowed)}", notes.get("allowed")))
    if col.pattern is not None:
        lines.append(_line(f"    pattern: {_q(col.pattern)}", notes.get("pattern")))
    return lines


def _header(draft: Draft, docs: str) -> list[str]:
    sample = draft.sample
    newest = "the newest " if sample.files_listed > len(sample.files) else ""
    lines = [
        f"# Draft contract of dataset {draft.dataset!r}, written by `lakehouse infer-contract`.",
        f"# Drawn from {newest}{len(sample.files)} of {sample.files_listed} files under {draft.source_path}:",
        f"# {sample.rows} rows, read as bronze reads them and cleaned as silver cleans them.",
    ]
    if sample.rescued:
        lines.append(
            f"# {sample.rescued} malformed rows (rescued by bronze) were left out: silver quarantines them."
        )
    for path, reason in sorted(sample.bad_files.items())[:3]:
        lines.append(f"# Unreadable file left out: {path} ({reason})")
    lines += [
        "# Every rule holds for every sampled row: run on these files, it quarantines no row"
        + (" (but the malformed ones)." if sample.rescued else "."),
        "# It describes the sample, not the business: review each rule (ranges, allowed values,",
        f"# patterns, the key) before relying on it. Every key is explained in {docs}/silver.md.",
    ]
    return lines


def render(draft: Draft, docs: str = "docs") -> str:
    """The draft as YAML text (comments included)."""
    lines = [*_header(draft, docs), 'version: "1"']
    seen = [
        f"{t!r} in {', '.join(draft.token_columns[t])}" for t in draft.null_tokens if t in draft.token_columns
    ]
    lines.append(f"# NULL in every column, after trimming. Seen: {'; '.join(seen) or 'none'}.")
    lines.append(f"null_tokens: {_flow(draft.null_tokens)}")
    if draft.primary_key:
        others = "; ".join(f"[{', '.join(k)}]" for k in draft.other_keys)
        lines.append(
            "# Never null and unique in the sample" + (f" (other candidates: {others})." if others else ".")
        )
        lines.append(f"primary_key: {_flow(draft.primary_key)}")
    else:
        lines.append("# No column or pair of columns is unique in the sample: no primary key proposed.")
    lines.append("columns:")
    for col in draft.columns:
        lines += _column(col)
    return "\n".join(lines) + "\n"


def check(text: str, file: str = "<draft>") -> Contract:
    """Parse the rendered draft with the contract parser (a draft that does not parse is a bug)."""
    return parse_contract(Node(yaml.safe_load(text), (), Origins(default=file)))
