"""Which columns each part of a pipeline can name, followed through the config without Spark.

A dataset's silver rows have its contract's columns (less ``pii: drop`` ones) and the metadata
columns; its gold ``transforms`` add (``derive``), rename and keep (``select``) columns in
order; expectations, keys, CDC and SCD2 settings see the rows after the transforms; the gold
table drops the change-feed columns and adds the SCD2 ones; a derived table sees its inputs'
gold tables and silver tables as views. :func:`check_gold` and :func:`check_derived` follow
that path and report, at the key that holds it, SQL that does not parse and every column name
the rows at that point lack. Problems are collected, not raised (see
:mod:`lakehouse.config.validate`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from lakehouse.config.contract import Contract
from lakehouse.config.expectations import Expectation
from lakehouse.config.gold import DerivedSpec, GoldSpec, TransformStep
from lakehouse.config.names import is_name
from lakehouse.config.node import Node
from lakehouse.config.sql import (
    SqlError,
    Views,
    check_query,
    close_match,
    output_name,
    parse_expression,
    parse_order,
    parse_query,
    unknown_columns,
)
from lakehouse.constants import DELETED_AT, INGESTED_AT, METADATA_COLUMNS, SCD2_COLUMNS

Report = Callable[[Node, str], None]


@dataclass(frozen=True)
class Scope:
    """The columns rows have at one point: what ``label`` names, and why others are gone."""

    columns: tuple[str, ...]
    label: str
    gone: dict[str, str] = field(default_factory=dict)  # lower-case name -> why it is not here
    complete: bool = True  # False: a select made columns whose names Spark chooses

    def has(self, name: str) -> bool:
        return name.lower() in {c.lower() for c in self.columns}

    def with_columns(self, columns: Iterable[str], label: str, *, complete: bool = True) -> Scope:
        return Scope(tuple(dict.fromkeys(columns)), label, self.gone, self.complete and complete)

    def missing(self, name: str) -> str | None:
        """Why ``name`` is not a column here, or None when it is (or cannot be known)."""
        if self.has(name) or not self.complete:
            return None
        why = self.gone.get(name.lower())
        if why:
            return f"names column {name!r}, which {why}"
        return f"names column {name!r}, which the {self.label} do not have{close_match(name, self.columns)}"


def silver_scope(dataset: str, contract: Contract) -> Scope:
    """The columns of a dataset's silver rows, as gold reads them."""
    kept = [c.name for c in contract.columns if c.pii != "drop"]
    gone = {c.name.lower(): "silver drops (pii: drop)" for c in contract.columns if c.pii == "drop"}
    return Scope((*kept, *METADATA_COLUMNS), f"rows of dataset {dataset!r}", gone)


def elements(node: Node, count: int) -> list[Node]:
    """The node of each of ``count`` values read from ``node`` (a list, or one scalar)."""
    found = node.elements() if isinstance(node.value, list) else []
    return found if len(found) == count else [node] * count


def check_names(report: Report, node: Node, names: Iterable[object], scope: Scope) -> None:
    """Report each name (a value of ``node``) that ``scope`` lacks, at its list element."""
    items = [str(n) for n in names]
    for at, name in zip(elements(node, len(items)), items, strict=True):
        problem = scope.missing(name)
        if problem:
            report(at, problem)


def check_expression(report: Report, node: Node, sql: object, scope: Scope) -> Any:
    """Parse ``sql`` (the value at ``node``) and check the columns it names; the tree or None."""
    try:
        tree = parse_expression(str(sql), scope.columns)
    except SqlError as exc:
        report(node, f"{str(sql)!r} {exc}")
        return None
    for name in unknown_columns(tree, scope.columns):
        problem = scope.missing(name)
        if problem:
            report(node, problem)
    return tree


def _order_by(report: Report, node: Node, value: object, scope: Scope) -> None:
    orders = [value] if isinstance(value, str) else list(value) if isinstance(value, list) else []
    for at, order in zip(elements(node, len(orders)), orders, strict=True):
        try:
            trees = parse_order(str(order), scope.columns)
        except SqlError as exc:
            report(at, f"{str(order)!r} {exc}")
            continue
        for name in {n for tree in trees for n in unknown_columns(tree, scope.columns)}:
            problem = scope.missing(name)
            if problem:
                report(at, problem)


def _select(report: Report, node: Node, value: object, scope: Scope, label: str) -> Scope:
    items = [value] if isinstance(value, str) else [str(v) for v in value] if isinstance(value, list) else []
    outputs: list[str] = []
    complete = True
    for at, item in zip(elements(node, len(items)), items, strict=True):
        tree = check_expression(report, at, item, scope)
        name = output_name(tree) if tree is not None else None
        if tree is not None and tree.is_star:
            outputs += scope.columns
        elif name is not None:
            outputs.append(name)
        else:
            complete = False
    return scope.with_columns(outputs, label, complete=complete)


def _step(report: Report, node: Node, step: TransformStep, scope: Scope, label: str) -> Scope:
    """Check one transform step (``node`` is its ``<kind>`` key); the scope after it."""
    p = step.params
    names = {"standardize": "columns", "dedupe": "keys", "replace": "column", "to_utc": "columns"}
    key = names.get(step.kind)
    if key and p.get(key) is not None:
        value = p[key]
        check_names(report, node.child(key), [value] if isinstance(value, str) else value, scope)
    if step.kind == "dedupe":
        _order_by(report, node.child("order_by"), p["order_by"], scope)
    elif step.kind == "fill":
        for name in p["values"]:
            problem = scope.missing(str(name))
            if problem:
                report(node.child("values").child(str(name)), problem)
    elif step.kind == "filter":
        check_expression(report, node, p["value"], scope)
    elif step.kind == "derive":
        for name, sql in p.items():
            check_expression(report, node.child(str(name)), sql, scope)
        return scope.with_columns([*scope.columns, *map(str, p)], label)
    elif step.kind == "rename":
        for old in p:
            problem = scope.missing(str(old))
            if problem:
                report(node.child(str(old)), problem)
        renamed = {str(old).lower(): str(new) for old, new in p.items()}
        return scope.with_columns([renamed.get(c.lower(), c) for c in scope.columns], label)
    elif step.kind == "select":
        return _select(report, node, p["value"], scope, label)
    return scope


def check_expectation(report: Report, node: Node, rule: Expectation, scope: Scope) -> None:
    """The SQL and the columns of one expectation, against the rows it audits."""
    at = node.child("rule" if rule.kind == "row" else rule.kind)
    if rule.kind == "row":
        check_expression(report, at, rule.rule, scope)
    elif rule.kind == "aggregate":
        check_expression(report, at, rule.params["value"], scope)
    elif rule.kind in ("unique", "references"):
        columns_at = at.child("columns") if at.has("columns") else at
        check_names(report, columns_at, rule.params.get("columns") or (), scope)
    elif rule.kind in ("freshness", "null_ratio"):
        check_names(report, at.child("column"), [rule.params["column"]], scope)


def _expectations(report: Report, node: Node, rules: tuple[Expectation, ...], scope: Scope) -> None:
    for rule_node, rule in zip(node.child("expectations").elements(), rules, strict=False):
        check_expectation(report, rule_node, rule, scope)


def _cdc(report: Report, node: Node, spec: GoldSpec, staged: Scope) -> None:
    cdc = spec.cdc
    if cdc is None:
        return
    check_names(report, node.child("sequence_by"), cdc.sequence_by, staged)
    check_names(report, node.child("except_columns"), cdc.except_columns, staged)
    if cdc.operation is not None:
        check_names(report, node.child("operation"), [cdc.operation], staged)
    for key in ("apply_as_deletes", "apply_as_truncates"):
        if getattr(cdc, key) is not None:
            check_expression(report, node.child(key), getattr(cdc, key), staged)


def check_gold(report: Report, node: Node, spec: GoldSpec, silver: Scope) -> Scope:
    """Check a dataset's ``gold`` section (``node``); return the gold table's columns."""
    scope = silver
    steps = zip(node.child("transforms").elements(), spec.transforms, strict=False)
    for i, (step_node, step) in enumerate(steps):
        label = f"{silver.label} after transform {i} ({step.kind})"
        scope = _step(report, step_node.child(step.kind), step, scope, label)
    staged = scope
    _expectations(report, node, spec.expectations, staged)
    check_names(report, node.child("keys"), spec.keys, staged)
    _cdc(report, node.child("cdc"), spec, staged)
    excluded = {c.lower() for c in spec.cdc.excluded} if spec.cdc else set()
    added = (*SCD2_COLUMNS,) if spec.mode == "scd2" else ()
    if spec.cdc is not None and spec.cdc.soft_delete:
        added = (*added, DELETED_AT)
    kept = [c for c in staged.columns if c.lower() not in excluded]
    gone = {**staged.gone, **{c: "cdc keeps out of gold (operation / except_columns)" for c in excluded}}
    table = Scope(tuple(dict.fromkeys((*kept, *added))), f"columns of gold table {spec.table!r}", gone)
    table = Scope(table.columns, table.label, table.gone, staged.complete)
    check_names(report, node.child("partition_by"), spec.partition_by, table)
    if spec.scd2 is not None:
        scd2 = node.child("scd2")
        check_names(report, scd2.child("track"), spec.scd2.track or (), table)
        if spec.scd2.effective_from is not None:
            check_names(report, scd2.child("effective_from"), [spec.scd2.effective_from], staged)
        elif spec.cdc is None and staged.missing(INGESTED_AT):
            report(scd2 if not scd2.missing else node.child("mode"), _NO_EFFECTIVE)
    return table


_NO_EFFECTIVE = (
    f"scd2 orders versions by {INGESTED_AT} when scd2.effective_from is not set, "
    "and the transforms removed that column"
)


def derived_views(inputs: dict[str, tuple[Scope, Scope | None, str | None]]) -> Views:
    """The views a derived query may read: ``gold_<table>`` and ``silver_<dataset>`` of its inputs.

    ``inputs`` maps a dataset to (silver scope, gold table scope or None, gold table name).
    A view whose columns are not all known maps to None (a query reading it is not checked).
    """
    views: dict[str, tuple[str, ...] | None] = {}
    for dataset, (silver, gold, table) in inputs.items():
        views[f"silver_{dataset}"] = silver.columns
        if gold is not None and table is not None and is_name(table):
            views[f"gold_{table}"] = gold.columns if gold.complete else None
    return views


def check_derived(report: Report, node: Node, spec: DerivedSpec, views: Views) -> None:
    """Check one ``derived`` entry: its SQL parses and names columns its views have."""
    sql = node.child("sql")
    try:
        tree = parse_query(spec.sql, [c for columns in views.values() for c in columns or ()])
    except SqlError as exc:
        report(sql, str(exc))
        return
    found = check_query(tree, views)
    for problem in found.problems:
        report(sql, problem)
    if found.outputs is None:
        return
    scope = Scope(found.outputs, f"columns of derived table {spec.name!r}")
    check_names(report, node.child("keys"), spec.keys, scope)
    check_names(report, node.child("partition_by"), spec.partition_by, scope)
    _expectations(report, node, spec.expectations, scope)
