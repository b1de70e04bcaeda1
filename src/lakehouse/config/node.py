"""Typed, located access to parsed YAML.

A :class:`Node` wraps one value of the merged configuration tree together with its key path
and the file that value came from, so every parse error can say exactly where it is. Parsers
of the config sections (pipeline, source, contract, gold) read values only through nodes and
turn them into frozen dataclasses; nothing downstream touches raw dicts.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from lakehouse.errors import ConfigError

MISSING: Any = object()
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_duration(text: object) -> timedelta:
    """``"30s"``, ``"10m"``, ``"2h"``, ``"1d"`` -> a timedelta (ValueError otherwise)."""
    match = _DURATION.match(str(text))
    if not match:
        raise ValueError(f"not a duration: {text!r}")
    return timedelta(**{_UNITS[match.group(2)]: float(match.group(1))})


@dataclass
class Origins:
    """Which file each key path of the merged tree was read from (longest prefix wins)."""

    default: str
    by_path: dict[tuple[str, ...], str] = field(default_factory=dict)

    def file_for(self, path: tuple[str, ...]) -> str:
        for cut in range(len(path), 0, -1):
            found = self.by_path.get(path[:cut])
            if found is not None:
                return found
        return self.default


class Node:
    """One value of the configuration with its location."""

    def __init__(self, value: Any, path: tuple[str, ...], origins: Origins) -> None:
        self.value = value
        self.path = path
        self.origins = origins

    # -- location and errors -------------------------------------------------------------
    @property
    def key_path(self) -> str:
        return ".".join(self.path)

    @property
    def file(self) -> str:
        return self.origins.file_for(self.path)

    @property
    def missing(self) -> bool:
        return self.value is MISSING or self.value is None

    def error(self, message: str, *, found: object = MISSING, expected: str | None = None) -> ConfigError:
        """Build a :class:`ConfigError` located at this node."""
        return ConfigError(
            message,
            file=self.file,
            key_path=self.key_path or None,
            found=self.value if found is MISSING else found,
            expected=expected,
        )

    # -- navigation ----------------------------------------------------------------------
    def child(self, key: str) -> Node:
        mapping = self.value if isinstance(self.value, dict) else {}
        return Node(mapping.get(key, MISSING), (*self.path, key), self.origins)

    def has(self, key: str) -> bool:
        return isinstance(self.value, dict) and self.value.get(key) is not None

    def require_mapping(self) -> dict[str, Any]:
        if not isinstance(self.value, dict):
            raise self.error("must be a mapping", expected="a mapping of keys to values")
        return self.value

    def check_keys(self, allowed: set[str] | frozenset[str]) -> None:
        """Reject keys this section does not know, suggesting the closest known one."""
        for key in self.require_mapping():
            if key not in allowed:
                hint = difflib.get_close_matches(str(key), sorted(allowed), n=1)
                suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
                raise self.child(str(key)).error(
                    f"unknown key {key!r}{suggestion}",
                    found=key,
                    expected="one of " + ", ".join(sorted(allowed)),
                )

    def items(self) -> Iterator[tuple[str, Node]]:
        for key in self.require_mapping():
            yield str(key), self.child(str(key))

    def elements(self) -> list[Node]:
        if self.missing:
            return []
        if not isinstance(self.value, list):
            raise self.error("must be a list", expected="a list")
        return [Node(v, (*self.path, str(i)), self.origins) for i, v in enumerate(self.value)]

    # -- scalars ---------------------------------------------------------------------------
    def _get(self, key: str, default: Any) -> Node:
        node = self.child(key)
        if node.missing and default is MISSING:
            raise node.error("is required", found=None, expected="a value")
        return node

    def get_str(self, key: str, default: Any = MISSING, *, choices: tuple[str, ...] | None = None) -> Any:
        node = self._get(key, default)
        if node.missing:
            return default
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise node.error("must be a string", expected="a string")
        value = str(value)
        if choices is not None and value not in choices:
            hint = difflib.get_close_matches(value, choices, n=1)
            suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
            raise node.error(f"unsupported value{suggestion}", expected="one of " + ", ".join(choices))
        return value

    def get_int(self, key: str, default: Any = MISSING, *, minimum: int | None = None) -> Any:
        node = self._get(key, default)
        if node.missing:
            return default
        if isinstance(node.value, bool) or not isinstance(node.value, int):
            raise node.error("must be an integer", expected="an integer")
        if minimum is not None and node.value < minimum:
            raise node.error("is too small", expected=f"an integer >= {minimum}")
        return node.value

    def get_float(
        self, key: str, default: Any = MISSING, *, minimum: float | None = None, maximum: float | None = None
    ) -> Any:
        node = self._get(key, default)
        if node.missing:
            return default
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise node.error("must be a number", expected="a number")
        low = float("-inf") if minimum is None else minimum
        high = float("inf") if maximum is None else maximum
        if not low <= node.value <= high:
            raise node.error("is out of range", expected=f"a number between {minimum} and {maximum}")
        return float(node.value)

    def get_seconds(self, key: str, default: Any = MISSING) -> Any:
        """A duration written ``30s``, ``10m``, ``2h`` or ``1d`` (a bare number: seconds), in seconds."""
        node = self._get(key, default)
        if node.missing:
            return default
        value = node.value
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
            return float(value)
        try:
            return parse_duration(value).total_seconds()
        except ValueError:
            raise node.error("is not a duration", expected="a duration such as 30s, 10m, 2h or 1d") from None

    def get_bool(self, key: str, default: Any = MISSING) -> Any:
        node = self._get(key, default)
        if node.missing:
            return default
        if not isinstance(node.value, bool):
            raise node.error("must be true or false", expected="a boolean")
        return node.value

    def get_str_list(self, key: str, default: Any = MISSING) -> Any:
        node = self._get(key, default)
        if node.missing:
            return default
        value = node.value
        if isinstance(value, str):
            return (value,)
        if not isinstance(value, list) or not all(isinstance(v, (str, int, float)) for v in value):
            raise node.error("must be a list of strings", expected="a list of strings")
        return tuple(str(v) for v in value)

    def get_scalar_map(self, key: str, default: Any = MISSING) -> Any:
        """A mapping of names to scalar values, values rendered as strings (reader options)."""
        node = self._get(key, default)
        if node.missing:
            return default
        out: dict[str, str] = {}
        for name, value in node.require_mapping().items():
            if isinstance(value, (dict, list)):
                raise node.child(str(name)).error("must be a scalar", expected="a string, number or boolean")
            out[str(name)] = str(value).lower() if isinstance(value, bool) else str(value)
        return out
