"""Dataset contracts: the declared shape and rules of a dataset ("an API for data").

A contract lists columns (name, type, source name, nullability, formats and value rules),
the primary key, null tokens and quarantine policy. Bronze uses it for the expected source
columns; silver conforms and checks rows against it. Parsed from YAML into frozen objects.
Value rules (``allowed``, ``min``, ...) come from the registry in
:mod:`lakehouse.config.column_rules`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from lakehouse.config.column_rules import COLUMN_RULES
from lakehouse.config.names import check_name, check_source_name
from lakehouse.config.node import Node
from lakehouse.config.slo import Slo, parse_slo
from lakehouse.secrets import SecretRef

_SIMPLE_TYPES = {
    "string": "string",
    "int": "int",
    "integer": "int",
    "long": "bigint",
    "bigint": "bigint",
    "short": "smallint",
    "smallint": "smallint",
    "byte": "tinyint",
    "tinyint": "tinyint",
    "double": "double",
    "float": "float",
    "boolean": "boolean",
    "bool": "boolean",
    "date": "date",
    "timestamp": "timestamp",
}
_DECIMAL = re.compile(r"^decimal\(\s*(\d+)\s*,\s*(\d+)\s*\)$")
_COMPLEX = re.compile(r"^(array|map|struct)<.+>$")
PII_MODES = ("hash", "mask", "drop")
DEFAULT_TRUE = ("true", "t", "yes", "y", "1")
DEFAULT_FALSE = ("false", "f", "no", "n", "0")
# What silver does with drift and with csv rows that have more fields than the header.
EXTRA_FIELDS_POLICIES = ("quarantine", "ignore")
NEW_COLUMNS_POLICIES = ("warn", "quarantine", "fail", "evolve")
MISSING_COLUMNS_POLICIES = ("warn", "quarantine", "fail")


def normalize_type(node: Node, raw: str) -> str:
    """Return the Spark SQL type name for a contract type, or raise a located ConfigError."""
    text = raw.strip().lower()
    if text in _SIMPLE_TYPES:
        return _SIMPLE_TYPES[text]
    match = _DECIMAL.match(text)
    if match:
        precision, scale = int(match.group(1)), int(match.group(2))
        if not 1 <= precision <= 38 or scale > precision:
            raise node.error("invalid decimal", expected="decimal(p,s) with 1 <= p <= 38 and s <= p")
        return f"decimal({precision},{scale})"
    if _COMPLEX.match(text):
        return text
    raise node.error(
        "unknown type",
        expected="one of " + ", ".join(sorted(set(_SIMPLE_TYPES))) + ", decimal(p,s), array<..>, "
        "map<..>, struct<..>",
    )


@dataclass(frozen=True)
class ColumnSpec:
    """One contract column and its rules (``rules``: rule name -> parameter, see ``column_rules``)."""

    name: str
    type: str = "string"
    source: str | None = None
    nullable: bool = True
    format: str | None = None
    timezone: str | None = None
    true_values: tuple[str, ...] = DEFAULT_TRUE
    false_values: tuple[str, ...] = DEFAULT_FALSE
    pii: str | None = None
    mask_keep: int = 4
    description: str | None = None
    rules: dict[str, Any] = field(default_factory=dict)  # column rule name -> its parameter

    @property
    def source_name(self) -> str:
        """Column name as landed in the source files."""
        return self.source or self.name


_COLUMN_KEYS = frozenset(
    {
        "name",
        "type",
        "source",
        "nullable",
        "format",
        "timezone",
        "true_values",
        "false_values",
        "pii",
        "mask_keep",
        "description",
    }
)


def _parse_rules(node: Node, type_name: str) -> dict[str, Any]:
    """The column rules set on a column entry, each checked to apply to the column's type."""
    rules: dict[str, Any] = {}
    for rule in COLUMN_RULES.values():
        value = rule.param.read(node, rule.name)
        if value is None:
            continue
        if not rule.applies_to(type_name):
            raise node.child(rule.name).error(
                f"rule {rule.name} does not apply to a {type_name} column",
                found=type_name,
                expected="a column of type " + ", ".join(rule.types or ()),
            )
        rules[rule.name] = value
    low, high = rules.get("min"), rules.get("max")
    if low is not None and high is not None and low > high:
        raise node.child("min").error("is greater than max", expected=f"a number <= {high}")
    return rules


def parse_column(node: Node) -> ColumnSpec:
    """Parse one ``columns`` entry."""
    node.check_keys(_COLUMN_KEYS | COLUMN_RULES.keys())
    type_name = normalize_type(node.child("type"), node.get_str("type", "string"))
    source = node.get_str("source", None)
    return ColumnSpec(
        name=check_name(node.child("name"), node.get_str("name"), "column name"),
        type=type_name,
        source=None if source is None else check_source_name(node.child("source"), source),
        nullable=node.get_bool("nullable", True),
        format=node.get_str("format", None),
        timezone=node.get_str("timezone", None),
        true_values=tuple(v.lower() for v in node.get_str_list("true_values", DEFAULT_TRUE)),
        false_values=tuple(v.lower() for v in node.get_str_list("false_values", DEFAULT_FALSE)),
        pii=node.get_str("pii", None, choices=PII_MODES),
        mask_keep=node.get_int("mask_keep", 4, minimum=0),
        description=node.get_str("description", None),
        rules=_parse_rules(node, type_name),
    )


@dataclass(frozen=True)
class Contract:
    """A dataset's contract."""

    columns: tuple[ColumnSpec, ...]
    primary_key: tuple[str, ...] = ()
    null_tokens: tuple[str, ...] = ("", "NA", "N/A", "null", "NULL")
    trim: bool = True
    timezone: str = "UTC"
    max_quarantine_rate: float | None = None
    rescued_data: str = "quarantine"
    pii_salt: SecretRef | None = None
    version: str | None = None
    pii_at: str = "silver"  # where PII columns are protected: "silver" or already in "bronze"
    on_extra_fields: str = "quarantine"
    on_new_columns: str = "warn"
    on_missing_columns: str = "warn"
    slo: Slo | None = None  # freshness and volume objectives (``lakehouse check-slo``)

    def column(self, name: str) -> ColumnSpec:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def source_names(self) -> tuple[str, ...]:
        return tuple(c.source_name for c in self.columns)


_CONTRACT_KEYS = frozenset(
    {
        "columns",
        "primary_key",
        "null_tokens",
        "trim",
        "timezone",
        "max_quarantine_rate",
        "rescued_data",
        "pii_salt",
        "pii",
        "version",
        "description",
        "on_extra_fields",
        "on_new_columns",
        "on_missing_columns",
        "slo",
    }
)


def parse_secret(node: Node) -> SecretRef | None:
    """Parse ``{secret: {env: NAME}}`` / ``{secret: {scope: S, key: K}}`` (or without ``secret``)."""
    if node.missing:
        return None
    if isinstance(node.value, str):
        raise node.error(
            "secrets are given by reference, never inline",
            found="<a literal string, not shown>",
            expected="{secret: {env: NAME}} or {secret: {scope: SCOPE, key: KEY}}",
        )
    inner = node.child("secret") if node.has("secret") else node
    inner.check_keys(frozenset({"env", "scope", "key"}))
    if inner.has("env"):
        return SecretRef(env=inner.get_str("env"))
    return SecretRef(scope=inner.get_str("scope"), key=inner.get_str("key"))


def _pii_at(node: Node) -> str:
    """``pii: {at: bronze}``: protect PII columns before bronze writes (default ``silver``)."""
    if node.missing:
        return "silver"
    node.check_keys(frozenset({"at"}))
    return str(node.get_str("at", "silver", choices=("silver", "bronze")))


def _check_pii_at_bronze(node: Node, columns: tuple[ColumnSpec, ...]) -> None:
    """Columns protected in bronze hold the protected text: string type, no value rules."""
    for i, col in enumerate(columns):
        if col.pii in ("hash", "mask") and (col.type != "string" or col.rules):
            raise (
                node.child("columns")
                .child(str(i))
                .error(
                    f"column {col.name!r} is protected in bronze (pii: {{at: bronze}}), so silver "
                    "only sees its protected text",
                    found=f"type {col.type}" + (f", rules {', '.join(col.rules)}" if col.rules else ""),
                    expected="type string and no value rules (or protect it in silver)",
                )
            )


def parse_contract(node: Node) -> Contract:
    """Parse a dataset's ``contract`` section (inline or from its own file)."""
    node.check_keys(_CONTRACT_KEYS)
    columns = tuple(parse_column(c) for c in node.child("columns").elements())
    if not columns:
        raise node.child("columns").error(
            "must list at least one column", found=None, expected="a non-empty list of columns"
        )
    seen: set[str] = set()
    for i, col in enumerate(columns):
        if col.name in seen:
            raise (
                node.child("columns")
                .child(str(i))
                .error("duplicate column name", found=col.name, expected="unique names")
            )
        seen.add(col.name)
    primary_key = node.get_str_list("primary_key", ())
    for key in primary_key:
        if key not in seen:
            raise node.child("primary_key").error(
                f"primary key column {key!r} is not a contract column",
                found=key,
                expected="one of " + ", ".join(c.name for c in columns),
            )
    contract = Contract(
        columns=columns,
        primary_key=primary_key,
        null_tokens=node.get_str_list("null_tokens", Contract.null_tokens),
        trim=node.get_bool("trim", True),
        timezone=node.get_str("timezone", "UTC"),
        max_quarantine_rate=node.get_float("max_quarantine_rate", None, minimum=0.0, maximum=1.0),
        rescued_data=node.get_str("rescued_data", "quarantine", choices=("quarantine", "flag")),
        pii_salt=parse_secret(node.child("pii_salt")),
        version=node.get_str("version", None),
        pii_at=_pii_at(node.child("pii")),
        on_extra_fields=node.get_str("on_extra_fields", "quarantine", choices=EXTRA_FIELDS_POLICIES),
        on_new_columns=node.get_str("on_new_columns", "warn", choices=NEW_COLUMNS_POLICIES),
        on_missing_columns=node.get_str("on_missing_columns", "warn", choices=MISSING_COLUMNS_POLICIES),
        slo=parse_slo(node.child("slo"), {c.name: c.type for c in columns}),
    )
    if contract.pii_at == "bronze":
        _check_pii_at_bronze(node, columns)
    if any(c.pii == "hash" for c in columns) and contract.pii_salt is None:
        raise node.child("pii_salt").error(
            "columns with pii: hash need a salt",
            found=None,
            expected="pii_salt: {secret: {env: NAME}} or {secret: {scope: S, key: K}}",
        )
    return contract
