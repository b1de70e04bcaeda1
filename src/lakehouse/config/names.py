"""Names that become folders or SQL identifiers, and paths that must stay where they belong.

Checked while the configuration is parsed, before Spark starts: a dataset, table or column
name that could leave its folder or break out of a quoted identifier, and a path that climbs
out of the storage root, are a :class:`~lakehouse.errors.ConfigError` naming the key.

* **Names** (datasets, derived tables, the column names a config refers to):
  ``^[A-Za-z_][A-Za-z0-9_]*$``, at most 128 characters.
* **Table names** (``gold.table``, ``derived.name``, ``references.table``): a name, or a Unity
  Catalog name of two or three names joined by dots (``schema.table``, ``catalog.schema.table``).
* **Source column names** (``columns[].source``, a header as landed): any printable text; the
  library quotes every column name it puts into an expression (:func:`quote`).
* **Relative paths** (``paths.*`` under the root, ``source.path`` under the landing folder):
  no ``..`` segment and no backslash. Where the library writes, an absolute path or URI is
  refused unless it lies under one of ``storage.external_paths``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from lakehouse.config.node import Node

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MAX_NAME = 128
NAME_RULE = "letters, digits and _, not starting with a digit, at most 128 characters"
TABLE_RULE = f"a name ({NAME_RULE}), or schema.table / catalog.schema.table of such names"
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def quote(name: str) -> str:
    """Backtick-quote one identifier for SQL text and ``F.col`` (a backtick inside is doubled)."""
    return "`" + name.replace("`", "``") + "`"


def sql_text(value: str) -> str:
    """``value`` as a SQL string expression of hex digits only: nothing in it is read as SQL."""
    return f"decode(unhex('{value.encode('utf-8').hex()}'), 'UTF-8')"


def is_name(text: str) -> bool:
    """Whether ``text`` is a safe name (see the module docstring)."""
    return len(text) <= MAX_NAME and NAME.match(text) is not None


def is_table_name(text: str) -> bool:
    """Whether ``text`` is ``name``, ``schema.name`` or ``catalog.schema.name`` of safe names."""
    parts = text.split(".")
    return 1 <= len(parts) <= 3 and all(is_name(p) for p in parts)


def check_name(node: Node, value: object, what: str = "name") -> str:
    """``value`` (read at ``node``) as a string when it is a safe name, else a ConfigError."""
    text = str(value)
    if not is_name(text):
        raise node.error(f"{what} {text!r} is not a safe name", found=text, expected=NAME_RULE)
    return text


def check_names(node: Node, values: Iterable[object], what: str = "column name") -> tuple[str, ...]:
    """Every value checked with :func:`check_name`; an error points at the list element."""
    items = list(values)
    children = node.elements() if isinstance(node.value, list) else [node] * len(items)
    if len(children) != len(items):
        children = [node] * len(items)
    return tuple(check_name(child, v, what) for child, v in zip(children, items, strict=True))


def check_table_name(node: Node, value: object, what: str = "table name") -> str:
    """``value`` when it is a safe table name (one to three dotted names), else a ConfigError."""
    text = str(value)
    if not is_table_name(text):
        raise node.error(f"{what} {text!r} is not a safe table name", found=text, expected=TABLE_RULE)
    return text


def check_source_name(node: Node, value: str) -> str:
    """A column name as landed: any printable text (it is always quoted), never empty."""
    if not value or not value.isprintable():
        raise node.error(
            "a source column name must be printable text",
            found=value,
            expected="the column header as landed, without control characters",
        )
    return value


def is_absolute(path: str) -> bool:
    """An absolute local path or a URI (``abfss://...``, ``file:/...``, ``C:...``)."""
    return path.startswith(("/", "\\")) or _SCHEME.match(path) is not None


def path_segments(path: str) -> list[str]:
    """The folder names of a path or of a URI's path part (scheme and authority left out)."""
    rest = path
    if "://" in rest:
        rest = rest.split("://", 1)[1].partition("/")[2]
    elif _SCHEME.match(rest):
        rest = rest.split(":", 1)[1]
    return [s for s in rest.split("/") if s not in ("", ".")]


def _under(path: str, prefix: str) -> bool:
    base = prefix.rstrip("/")
    return path == base or path.startswith(base + "/")


def check_relative(
    node: Node, value: str, external: tuple[str, ...] = (), *, reads_only: bool = False
) -> str:
    """A path meant to lie in a base folder: no ``..`` segment, no backslash.

    ``reads_only`` (``source.path``, a folder the library only reads) accepts any absolute
    path or URI. Otherwise an absolute path must lie under one of ``external``
    (``storage.external_paths``): the library writes there.
    """
    if "\\" in value:
        raise node.error("a path may not contain a backslash", expected="a path with / separators")
    if ".." in path_segments(value):
        raise node.error(
            "a path may not contain '..' (it would leave the folder it is relative to)",
            expected="a path inside its base folder",
        )
    if reads_only or not is_absolute(value) or any(_under(value, prefix) for prefix in external):
        return value
    listed = ", ".join(external) if external else "none set"
    raise node.error(
        "an absolute path here would write outside the storage root",
        expected=f"a path relative to storage.root, or one under storage.external_paths ({listed})",
    )


def check_external(node: Node, value: str) -> str:
    """An entry of ``storage.external_paths``: absolute, without ``..``."""
    if not is_absolute(value) or ".." in path_segments(value) or "\\" in value:
        raise node.error(
            "must be an absolute path or URI without '..'",
            expected="e.g. abfss://shared@account.dfs.core.windows.net/lake or /mnt/shared",
        )
    return value.rstrip("/") or "/"


# Comments, string literals and quoted identifiers (skipped), and statement separators.
_SQL_PARTS = re.compile(
    r"--[^\n]*|/\*.*?\*/|'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|`(?:[^`]|``)*`|;", re.DOTALL
)
_QUERY_START = ("SELECT", "WITH", "VALUES", "FROM", "TABLE", "(")


def check_query(node: Node, sql: str) -> str:
    """A derived table's SQL: exactly one query, never a statement (``DROP``, ``INSERT``, ...).

    A final ``;`` is dropped. The runner also reads the SQL as a subquery
    (``SELECT * FROM (<sql>)``), so Spark itself refuses anything but a query.
    """
    text = sql.rstrip()
    if text.endswith(";"):
        text = text[:-1]
    code = _SQL_PARTS.sub(lambda m: ";" if m.group() == ";" else " ", text).strip()
    if ";" in code:
        raise node.error(
            "holds more than one SQL statement (a ';' outside quotes)",
            found=sql,
            expected="one query (SELECT / WITH ... SELECT)",
        )
    if not code.upper().startswith(_QUERY_START):
        raise node.error(
            "must be a query",
            found=sql,
            expected="one query starting with SELECT, WITH, VALUES, FROM or TABLE",
        )
    return text if sql.rstrip().endswith(";") else sql
