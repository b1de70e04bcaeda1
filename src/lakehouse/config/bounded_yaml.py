"""Parse YAML with bounded work: limits checked on the node graph, before any value is built.

YAML anchors and aliases let a few hundred bytes stand for billions of values (the "billion
laughs" bomb): PyYAML itself shares the aliased objects, but anything that walks the result
(interpolation, merging, validation) expands them. Here the document is composed into nodes
(an alias is the same node object again, so this is linear in the text), then the number of
values the document expands to is counted with memoization, without expanding anything. A
document over :data:`MAX_VALUES` values, nested deeper than :data:`MAX_DEPTH`, holding a
recursive alias or larger than :data:`MAX_BYTES` is refused with a :class:`ConfigError` that
names the file and, where it can, the key.

Aliases within these bounds (the usual ``&defaults`` / ``<<: *defaults``) keep working.
"""

from __future__ import annotations

from typing import Any

import yaml

from lakehouse.errors import ConfigError

MAX_BYTES = 4 * 1024 * 1024
"""Largest configuration file read (a pipeline with hundreds of datasets is a few hundred KB)."""
MAX_VALUES = 200_000
"""Most values (scalars, lists and mappings) a document may expand to, aliases expanded."""
MAX_DEPTH = 64
"""Deepest nesting of lists and mappings."""


class _RefusedError(Exception):
    def __init__(self, message: str, path: tuple[str, ...]) -> None:
        super().__init__(message)
        self.path = path


class _BoundedLoader(yaml.SafeLoader):
    """A SafeLoader that refuses nesting deeper than MAX_DEPTH while composing."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise _RefusedError(f"YAML nested deeper than {MAX_DEPTH} levels (line {mark.line + 1})", ())
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _key_text(node: yaml.Node) -> str:
    return str(node.value) if isinstance(node, yaml.ScalarNode) else "<key>"


class _Counter:
    """Counts the values a node graph expands to; shared (aliased) nodes are counted once each
    time they are used, but computed once."""

    def __init__(self) -> None:
        self.sizes: dict[int, int] = {}
        self.active: set[int] = set()

    def size(self, node: yaml.Node, path: tuple[str, ...], depth: int) -> int:
        key = id(node)
        known = self.sizes.get(key)
        if known is not None:
            return known
        if key in self.active:
            raise _RefusedError("a recursive YAML alias (an anchor used inside itself)", path)
        if depth > MAX_DEPTH:
            raise _RefusedError(f"YAML aliases nest deeper than {MAX_DEPTH} levels", path)
        self.active.add(key)
        total = 1
        if isinstance(node, yaml.SequenceNode):
            children = [(str(i), child) for i, child in enumerate(node.value)]
        elif isinstance(node, yaml.MappingNode):
            children = [(_key_text(k), v) for k, v in node.value] + [("<key>", k) for k, _ in node.value]
        else:
            children = []
        for name, child in children:
            total += self.size(child, (*path, name), depth + 1)
            if total > MAX_VALUES:
                raise _RefusedError(
                    f"YAML aliases expand this to more than {MAX_VALUES} values (an alias "
                    "bomb?); write the repeated part out or use fewer aliases",
                    path,
                )
        self.active.discard(key)
        self.sizes[key] = total
        return total


def load_bounded(text: str, file: str) -> Any:
    """The YAML document in ``text`` (None when empty); ConfigError when a bound is exceeded."""
    if len(text) > MAX_BYTES:
        raise ConfigError(
            f"is larger than {MAX_BYTES // (1024 * 1024)} MiB",
            file=file,
            found=len(text),
            expected="a smaller file",
        )
    loader = _BoundedLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _Counter().size(node, (), 0)
        return loader.construct_document(node)
    except _RefusedError as exc:
        where = ".".join(exc.path) or None
        raise ConfigError(f"refused before reading on: {exc}", file=file, key_path=where) from None
    finally:
        loader.dispose()
