"""Data-quality expectations of a gold table: a named rule, its action and failure threshold.

Parsed here (specs, no Spark); evaluated by :mod:`lakehouse.quality.evaluate`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from lakehouse.config.names import check_names, check_table_name
from lakehouse.config.node import Node, parse_duration

ACTIONS = ("warn", "drop", "fail")
AGGREGATE_KINDS = ("row_count", "unique", "references", "freshness", "null_ratio", "aggregate")


@dataclass(frozen=True)
class Expectation:
    """A named data-quality rule with its action and failure threshold.

    ``kind`` is ``row`` for a SQL boolean expression evaluated per row, otherwise one of
    the aggregate kinds. ``threshold`` is the fraction of rows allowed to fail: a rule passes
    when ``rows_failed / rows_checked <= threshold`` (None behaves as 0). A ``fail`` rule that
    does not pass stops the run; a ``drop`` rule always drops its failing rows and stops the
    run only when an explicit threshold is exceeded.
    """

    name: str
    kind: str
    action: str = "warn"
    rule: str | None = None
    threshold: float | None = None
    params: dict[str, Any] = field(default_factory=dict)


def parse_age(text: str) -> timedelta:
    """``"2h"`` -> 2 hours; units s, m, h, d."""
    try:
        return parse_duration(text)
    except ValueError:
        raise ValueError(f"max_age must look like 30m, 2h or 1d, got {text!r}") from None


def parse_expectation(node: Node) -> Expectation:
    """Parse one ``expectations`` entry: ``rule`` (row) or one aggregate kind."""
    node.check_keys(frozenset({"name", "rule", "action", "threshold", "description", *AGGREGATE_KINDS}))
    kinds = [k for k in ("rule", *AGGREGATE_KINDS) if node.has(k)]
    if len(kinds) != 1:
        raise node.error(
            "an expectation needs exactly one rule kind",
            found=kinds or None,
            expected="one of rule, " + ", ".join(AGGREGATE_KINDS),
        )
    kind = kinds[0]
    params: dict[str, Any] = {}
    if kind != "rule":
        value = node.child(kind).value
        params = dict(value) if isinstance(value, dict) else {"value": value}
        _check_params(node.child(kind), kind, params)
    action = node.get_str("action", "warn", choices=ACTIONS)
    if action == "drop" and kind != "rule":
        raise node.child("action").error(
            "drop applies to row rules only", found=action, expected="warn or fail for an aggregate rule"
        )
    return Expectation(
        name=node.get_str("name"),
        kind="row" if kind == "rule" else kind,
        action=action,
        rule=node.get_str("rule", None),
        threshold=node.get_float("threshold", None, minimum=0.0, maximum=1.0),
        params=params,
    )


# Required / allowed parameters of each aggregate rule written as a mapping.
_AGG_PARAMS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "row_count": (frozenset(), frozenset({"min", "max"})),
    "unique": (frozenset({"columns"}), frozenset({"columns"})),
    "references": (frozenset({"columns"}), frozenset({"columns", "table", "path", "to_columns"})),
    "freshness": (frozenset({"column", "max_age"}), frozenset({"column", "max_age"})),
    "null_ratio": (frozenset({"column"}), frozenset({"column", "max"})),
    "aggregate": (frozenset({"value"}), frozenset({"value"})),
}


def _check_params(node: Node, kind: str, params: dict[str, Any]) -> None:
    columns_at = node.child("columns")
    if kind == "unique" and "value" in params:
        params["columns"] = params.pop("value")
        columns_at = node
    for key in ("columns", "to_columns"):
        if isinstance(params.get(key), str):
            params[key] = [params[key]]
    required, allowed = _AGG_PARAMS[kind]
    if "value" in params and kind != "aggregate":
        raise node.error(f"{kind} takes a mapping", expected="keys " + ", ".join(sorted(allowed)))
    unknown = set(params) - allowed
    missing = required - set(params)
    if unknown or missing:
        raise node.error(
            f"{kind}: unknown keys {sorted(unknown)}, missing keys {sorted(missing)}",
            expected="keys " + ", ".join(sorted(allowed)),
        )
    if kind == "references" and not ({"table", "path"} & set(params)):
        raise node.error("references needs a table (gold table name) or a path", expected="table or path")
    _check_names(node, columns_at, params)
    if kind == "freshness":
        try:
            parse_age(params["max_age"])
        except ValueError as exc:
            raise node.child("max_age").error(str(exc), expected="a duration such as 30m, 2h or 1d") from exc


def _check_names(node: Node, columns_at: Node, params: dict[str, Any]) -> None:
    """Column and table names an aggregate rule refers to must be safe names."""
    if isinstance(params.get("columns"), list):
        check_names(columns_at, params["columns"])
    if isinstance(params.get("to_columns"), list):
        check_names(node.child("to_columns"), params["to_columns"])
    if "column" in params:
        check_names(node.child("column"), [params["column"]])
    if "table" in params:
        check_table_name(node.child("table"), params["table"])


def names_unique(node: Node, expectations: tuple[Expectation, ...]) -> None:
    """Reject two expectations of one table with the same name."""
    names = [e.name for e in expectations]
    if len(set(names)) != len(names):
        raise node.error("expectation names must be unique", found=names, expected="unique names")
