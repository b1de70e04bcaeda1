"""Unity Catalog table names: ``storage.tables`` and table names given in a dataset's ``paths``.

With ``storage.tables: {catalog: main}`` every table the library writes is addressed by name,
``<catalog>.<schema>.<table>``, one schema per layer (default: the layer's name) plus ``ops``
for the run ledger, the run lock and the expectation metrics. Every name part is a safe name
(:data:`lakehouse.config.names.NAME_RULE`), so names are quoted, never escaped into SQL.
"""

from __future__ import annotations

from lakehouse.config.locations import TABLE_SCHEMAS, StorageConfig
from lakehouse.config.names import NAME_RULE, check_name, is_name
from lakehouse.config.node import Node


def parse_tables(store: Node) -> tuple[str | None, dict[str, str]]:
    """``storage.tables``: the catalog and the schema of each layer (None, {} when absent)."""
    tables = store.child("tables")
    if tables.missing:
        return None, {}
    tables.check_keys(frozenset({"catalog", "schemas"}))
    if not tables.has("catalog"):
        raise tables.child("catalog").error(
            "is required with storage.tables", found=None, expected=f"a catalog name ({NAME_RULE})"
        )
    catalog = check_name(tables.child("catalog"), tables.child("catalog").value, "catalog name")
    schemas = {layer: layer for layer in TABLE_SCHEMAS}
    given = tables.child("schemas")
    if not given.missing:
        given.check_keys(frozenset(TABLE_SCHEMAS))
        for layer, child in given.items():
            schemas[layer] = check_name(child, child.value, "schema name")
    return catalog, schemas


def check_root(store: Node, root: str) -> None:
    """A root that reads like a table name (``main.lake.x``) would silently become a folder."""
    parts = root.split(".")
    if "/" not in root and ":" not in root and len(parts) >= 2 and all(is_name(p) for p in parts):
        raise store.child("root").error(
            "storage.root is a folder or URI; tables by name are set with storage.tables",
            found=root,
            expected="a path (e.g. ./_lakehouse, abfss://...), and storage.tables: {catalog: ...}",
        )


def table_name(storage: StorageConfig, node: Node, value: str | None, layer: str, table: str) -> str | None:
    """The table name a dataset's ``paths.<key>`` (``value``) stands for; None for a path.

    Without ``value`` the default table (a name when a catalog is set). A value with a slash or
    a scheme is a path. A three-part value is a full name; with a catalog, ``schema.table``
    and a bare ``table`` (in the layer's schema) are names too.
    """
    if value is None:
        return storage.name(layer, table) if storage.catalog else None
    if "/" in value or ":" in value:
        return None
    parts = value.split(".")
    if len(parts) != 3 and not storage.catalog:
        return None
    if len(parts) > 3 or not all(is_name(p) for p in parts):
        raise node.error(
            f"table name {value!r} is not a safe table name",
            found=value,
            expected=f"catalog.schema.table, schema.table or table, each part {NAME_RULE}",
        )
    if len(parts) == 3:
        return value
    if len(parts) == 2:
        return f"{storage.catalog}.{value}"
    return storage.name(layer, value)
