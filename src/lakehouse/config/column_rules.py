"""Column rules of a contract: one registered function per rule.

A rule is declared once, with :func:`column_rule`: its name (the contract key), how its
parameter is read from YAML and shown in a message, the column types it applies to, and the
message a failing row gets. The function returns a boolean ``Column``, true where a value
passes. From :data:`COLUMN_RULES` the contract parser takes the keys it accepts and how to
read them, silver's checks evaluate every rule a column sets (in one pass, a NULL value always
passing), and ``docs/silver.md`` lists them (a test checks that). Adding a rule is one
function here and its test.

Spark is imported inside the rule functions only, so reading a contract never imports it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lakehouse.config.node import Node

if TYPE_CHECKING:
    from pyspark.sql import Column

NUMERIC = ("tinyint", "smallint", "int", "bigint", "float", "double", "decimal")
TEMPORAL = ("date", "timestamp")


def type_family(type_name: str) -> str:
    """``decimal(10,2)`` -> ``decimal``, ``array<string>`` -> ``array``; others unchanged."""
    return re.split(r"[(<]", type_name, maxsplit=1)[0]


@dataclass(frozen=True)
class Param:
    """How a rule's parameter is read from a column entry, and shown in a failure message."""

    read: Callable[[Node, str], Any]  # the value under the rule's key; None when not set
    show: Callable[[Any], str] = str


def _regex(node: Node, key: str) -> str | None:
    pattern: str | None = node.get_str(key, None)
    if pattern is not None:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise node.child(key).error(f"invalid regular expression: {exc}") from exc
    return pattern


NUMBER = Param(lambda node, key: node.get_float(key, None), lambda value: f"{value:g}")
COUNT = Param(lambda node, key: node.get_int(key, None, minimum=1))
TEXTS = Param(lambda node, key: node.get_str_list(key, None), ", ".join)
REGEX = Param(_regex)
FLAG = Param(lambda node, key: node.get_bool(key, False) or None)  # `false` sets no rule

RuleCheck = Callable[["Column", Any], "Column"]


@dataclass(frozen=True)
class ColumnRule:
    """A registered column rule (see :func:`column_rule`)."""

    name: str
    param: Param
    types: tuple[str, ...] | None  # type families it applies to; None: every type
    message: str
    check: RuleCheck

    def applies_to(self, type_name: str) -> bool:
        """Whether the rule may be set on a column of this Spark type."""
        return self.types is None or type_family(type_name) in self.types

    def failure_message(self, value: Any) -> str:
        """The reason message of a row failing the rule with parameter ``value``."""
        return self.message.format(param=self.param.show(value))

    @property
    def summary(self) -> str:
        """The first line of the rule function's docstring."""
        return (self.check.__doc__ or self.name).strip().splitlines()[0]


COLUMN_RULES: dict[str, ColumnRule] = {}
"""Every column rule by name, in the order silver evaluates them."""


def column_rule(
    name: str, *, param: Param, types: tuple[str, ...] | None, message: str
) -> Callable[[RuleCheck], RuleCheck]:
    """Register ``fn(value, parameter) -> Column`` as the column rule ``name``.

    ``message`` may use ``{param}``, the parameter as ``param.show`` renders it.
    """

    def register(fn: RuleCheck) -> RuleCheck:
        if name in COLUMN_RULES:
            raise ValueError(f"column rule {name!r} is registered twice")
        COLUMN_RULES[name] = ColumnRule(name, param, types, message, fn)
        return fn

    return register


@column_rule("allowed", param=TEXTS, types=None, message="not one of the allowed values {param}")
def allowed(value: Column, values: Sequence[str]) -> Column:
    """The value, as text, is one of the listed values."""
    return value.cast("string").isin(*values)


@column_rule("min", param=NUMBER, types=NUMERIC, message="below the minimum {param}")
def minimum(value: Column, bound: float) -> Column:
    """The value is at least this number (inclusive)."""
    return value >= bound


@column_rule("max", param=NUMBER, types=NUMERIC, message="above the maximum {param}")
def maximum(value: Column, bound: float) -> Column:
    """The value is at most this number (inclusive)."""
    return value <= bound


@column_rule("pattern", param=REGEX, types=None, message="does not match the pattern {param}")
def pattern(value: Column, regex: str) -> Column:
    """The value, as text, contains a match of this regular expression (anchor it with ``^...$``)."""
    return value.cast("string").rlike(regex)


@column_rule("max_length", param=COUNT, types=None, message="longer than {param} characters")
def max_length(value: Column, limit: int) -> Column:
    """The value, as text, has at most this many characters."""
    from pyspark.sql import functions as F  # noqa: N812

    return F.length(value.cast("string")) <= limit


@column_rule("is_in_past", param=FLAG, types=TEMPORAL, message="after the current time")
def is_in_past(value: Column, _: bool) -> Column:
    """``true``: the timestamp or date is not after the current time (no events from the future)."""
    from pyspark.sql import functions as F  # noqa: N812

    return value <= F.current_timestamp()
