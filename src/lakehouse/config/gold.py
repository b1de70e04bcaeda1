"""Gold configuration: cleansing steps, expectations and the publish mode of a table.

Covers a dataset's ``gold`` section and the pipeline's ``derived`` tables. Specs only: the
steps are applied by :mod:`lakehouse.transforms.steps`, the tables published by
:mod:`lakehouse.gold.runner` and :mod:`lakehouse.gold.derived`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lakehouse.config.cdc import CdcSpec, parse_cdc
from lakehouse.config.expectations import Expectation, names_unique, parse_expectation
from lakehouse.config.names import check_name, check_names, check_query, check_table_name
from lakehouse.config.node import Node
from lakehouse.config.sql import SqlError, parse_query, partition_refresh_blockers

PUBLISH_MODES = ("merge", "scd2", "append", "overwrite_partitions")
TRANSFORM_KINDS = (
    "standardize",
    "dedupe",
    "fill",
    "replace",
    "to_utc",
    "derive",
    "select",
    "rename",
    "filter",
)


@dataclass(frozen=True)
class TransformStep:
    """One cleansing step, applied in the order given."""

    kind: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Scd2Spec:
    """SCD2 options: which columns start a new version and which column orders versions."""

    track: tuple[str, ...] | None = None
    effective_from: str | None = None


@dataclass(frozen=True)
class GoldSpec:
    """How a dataset's silver rows become a gold table."""

    table: str
    mode: str
    keys: tuple[str, ...] = ()
    partition_by: tuple[str, ...] = ()
    transforms: tuple[TransformStep, ...] = ()
    expectations: tuple[Expectation, ...] = ()
    scd2: Scd2Spec | None = None
    cdc: CdcSpec | None = None

    @property
    def audited(self) -> tuple[Expectation, ...]:
        """The expectations a batch is audited with: the configured ones, and for a change feed
        the implicit drop rule for rows without a key or sequence value."""
        if self.cdc is None:
            return self.expectations
        return (*self.expectations, self.cdc.implicit_expectation(self.keys))


@dataclass(frozen=True)
class DerivedSpec:
    """A gold table computed from other datasets' gold/silver tables with Spark SQL."""

    name: str
    inputs: tuple[str, ...]
    sql: str
    mode: str = "overwrite_partitions"
    keys: tuple[str, ...] = ()
    partition_by: tuple[str, ...] = ()
    expectations: tuple[Expectation, ...] = ()
    refresh: str = "full"


# How a derived table with new inputs is recomputed: every partition, or only the partitions
# the changed input rows fall in (mode overwrite_partitions; see lakehouse.gold.refresh).
REFRESH_MODES = ("full", "partitions")
_DERIVED_KEYS = frozenset(
    {"name", "inputs", "sql", "mode", "keys", "partition_by", "expectations", "description", "refresh"}
)


def parse_step(node: Node) -> TransformStep:
    """Parse one ``transforms`` entry: a mapping with exactly one known step name."""
    mapping = node.require_mapping()
    if len(mapping) != 1:
        raise node.error(
            "a transform step is a mapping with one key",
            found=list(mapping),
            expected="one of " + ", ".join(TRANSFORM_KINDS),
        )
    kind = next(iter(mapping))
    node.check_keys(frozenset(TRANSFORM_KINDS))
    value = mapping[kind]
    params = dict(value) if isinstance(value, dict) else {"value": value}
    required, allowed = _STEP_PARAMS[kind]
    unknown, missing = set(params) - allowed, required - set(params)
    if kind not in ("derive", "rename") and (unknown or missing):
        raise node.child(kind).error(
            f"{kind}: unknown keys {sorted(unknown)}, missing keys {sorted(missing)}",
            expected="keys " + ", ".join(sorted(allowed)),
        )
    _check_step_names(node.child(kind), kind, params)
    return TransformStep(kind=str(kind), params=params)


# The parameters of each step that name columns (a name or a list of names).
_NAME_PARAMS = {"standardize": "columns", "dedupe": "keys", "replace": "column", "to_utc": "columns"}


def _check_step_names(node: Node, kind: str, params: dict[str, Any]) -> None:
    """Column names in a step must be safe names; SQL expressions (derive values, filter,
    select, order_by) are the config author's code and are parsed by Spark as expressions."""
    key = _NAME_PARAMS.get(kind)
    if key is not None and params.get(key) is not None:
        value = params[key]
        check_names(node.child(key), [value] if isinstance(value, str) else value)
    if kind in ("fill", "derive", "rename"):
        mapping = params.get("values") if kind == "fill" else params
        at = node.child("values") if kind == "fill" else node
        if not isinstance(mapping, dict):
            raise at.error(f"{kind} takes a mapping of column names", expected="a mapping")
        for name, value in mapping.items():
            check_name(at.child(str(name)), name, "column name")
            if kind == "rename":
                check_name(at.child(str(name)), value, "column name")


# Required / allowed parameters of each transform step (derive and rename take free mappings;
# ``value`` is a step written as a scalar or list, e.g. ``filter: "x > 0"``).
_STEP_PARAMS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "standardize": (frozenset(), frozenset({"columns", "case", "collapse_whitespace", "empty_as_null"})),
    "dedupe": (frozenset({"keys", "order_by"}), frozenset({"keys", "order_by"})),
    "fill": (frozenset({"values"}), frozenset({"values"})),
    "replace": (frozenset({"column", "values"}), frozenset({"column", "values"})),
    "to_utc": (frozenset({"columns", "from_zone"}), frozenset({"columns", "from_zone"})),
    "select": (frozenset({"value"}), frozenset({"value"})),
    "filter": (frozenset({"value"}), frozenset({"value"})),
    "derive": (frozenset(), frozenset()),
    "rename": (frozenset(), frozenset()),
}


def _needs_partitions(node: Node, mode: str) -> None:
    if mode == "overwrite_partitions" and not node.get_str_list("partition_by", ()):
        raise node.child("partition_by").error(
            "mode overwrite_partitions needs partition_by", found=None, expected="a list of partition columns"
        )


def _publish_options(node: Node, default_mode: str) -> tuple[str, tuple[str, ...], tuple[Expectation, ...]]:
    """The options gold tables and derived tables share: mode, keys and expectations."""
    mode = node.get_str("mode", default_mode, choices=PUBLISH_MODES)
    keys = check_names(node.child("keys"), node.get_str_list("keys", ()))
    if mode in ("merge", "scd2") and not keys:
        raise node.child("keys").error(
            f"mode {mode} needs keys", found=None, expected="a list of key columns"
        )
    _needs_partitions(node, mode)
    expectations = tuple(parse_expectation(n) for n in node.child("expectations").elements())
    names_unique(node.child("expectations"), expectations)
    return mode, keys, expectations


def parse_gold(node: Node, dataset: str) -> GoldSpec:
    """Parse a dataset's ``gold`` section."""
    node.check_keys(
        frozenset(
            {
                "table",
                "mode",
                "keys",
                "partition_by",
                "transforms",
                "expectations",
                "scd2",
                "cdc",
                "description",
            }
        )
    )
    mode, keys, expectations = _publish_options(node, "merge")
    table = check_table_name(node.child("table"), node.get_str("table", dataset), "gold table name")
    scd2_node = node.child("scd2")
    scd2 = None
    cdc = None if node.child("cdc").missing else parse_cdc(node.child("cdc"), mode, keys)
    if cdc is not None and scd2_node.has("effective_from"):
        raise scd2_node.child("effective_from").error(
            "with a cdc block, sequence_by orders the versions", expected="no effective_from"
        )
    if mode == "scd2":
        if not scd2_node.missing:
            scd2_node.check_keys(frozenset({"track", "effective_from"}))
        track = scd2_node.get_str_list("track", None)
        effective = scd2_node.get_str("effective_from", None)
        scd2 = Scd2Spec(
            track=None if track is None else check_names(scd2_node.child("track"), track),
            effective_from=None
            if effective is None
            else check_name(scd2_node.child("effective_from"), effective),
        )
    return GoldSpec(
        table=table,
        mode=mode,
        keys=keys,
        partition_by=check_names(node.child("partition_by"), node.get_str_list("partition_by", ())),
        transforms=tuple(parse_step(n) for n in node.child("transforms").elements()),
        expectations=expectations,
        scd2=scd2,
        cdc=cdc,
    )


def parse_derived(node: Node) -> DerivedSpec:
    """Parse one ``derived`` entry (pipeline level)."""
    node.check_keys(_DERIVED_KEYS)
    mode, keys, expectations = _publish_options(node, "overwrite_partitions")
    spec = DerivedSpec(
        name=check_table_name(node.child("name"), node.get_str("name"), "derived table name"),
        inputs=node.get_str_list("inputs"),
        sql=check_query(node.child("sql"), node.get_str("sql")),
        mode=mode,
        keys=keys,
        partition_by=check_names(node.child("partition_by"), node.get_str_list("partition_by", ())),
        expectations=expectations,
        refresh=node.get_str("refresh", "full", choices=REFRESH_MODES),
    )
    if spec.refresh == "partitions":
        _check_partition_refresh(node, spec)
    return spec


def _check_partition_refresh(node: Node, spec: DerivedSpec) -> None:
    """``refresh: partitions`` needs mode overwrite_partitions and SQL whose rows stay in the
    partitions of the input rows they come from."""
    at = node.child("refresh")
    if spec.mode != "overwrite_partitions":
        raise at.error(
            f"refresh: partitions replaces partitions, but mode is {spec.mode}",
            found=spec.refresh,
            expected="mode overwrite_partitions, or refresh: full",
        )
    try:
        tree = parse_query(spec.sql)
    except SqlError as exc:
        raise at.error(
            f"refresh: partitions needs SQL the configuration check can read; the sql {exc}",
            found=spec.refresh,
            expected="refresh: full",
        ) from None
    blockers = partition_refresh_blockers(tree, spec.partition_by)
    if blockers:
        raise at.error(
            "refresh: partitions recomputes only the partitions that changed input rows fall in; "
            f"the sql uses {'; '.join(blockers)}, which can change rows of other partitions",
            found=spec.refresh,
            expected="refresh: full, or SQL of joins, filters, unions and aggregates grouped by "
            + ", ".join(spec.partition_by),
        )
