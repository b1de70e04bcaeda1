"""Contracts with exactly N row rules on the usage data (scenario e), and the same rules as SQL.

Every variant has the same 16 columns (the 9 usage columns plus a second copy of 7 of them,
read from the same source column) so casts and output width are equal and only the number
of rules differs. Rules are taken round-robin over the columns from a pool of rules the
clean data passes (not_null, allowed, min, max, pattern, max_length), so 1 rule is the
device_id pattern and 50 rules spread over all columns. The variants have no primary key
(no duplicate-key window) and no quarantine-rate limit.
"""

from __future__ import annotations

from typing import Any

from benchmarks.generate import APPS

BASE = [
    {"name": "device_id", "type": "string"},
    {"name": "event_ts", "type": "timestamp", "format": "yyyy-MM-dd HH:mm:ss"},
    {"name": "app", "type": "string"},
    {"name": "cpu_pct", "type": "double"},
    {"name": "mem_mb", "type": "int"},
    {"name": "battery_pct", "type": "int"},
    {"name": "network", "type": "string"},
    {"name": "owner_email", "type": "string", "pii": "hash"},
    {"name": "firmware", "type": "string"},
]
COPIED = ("device_id", "app", "cpu_pct", "mem_mb", "battery_pct", "network", "firmware")
NETWORKS = ["wifi", "4g", "5g", "offline"]
POOL: dict[str, list[tuple[str, Any]]] = {
    "device_id": [("pattern", "^dev-[0-9]{5}$"), ("max_length", 9), ("not_null", True)],
    "event_ts": [("not_null", True), ("pattern", "^2026-"), ("max_length", 19)],
    "app": [("allowed", list(APPS)), ("max_length", 64), ("pattern", "^[a-z]+$"), ("not_null", True)],
    "cpu_pct": [("min", 0), ("max", 100), ("max_length", 5), ("pattern", "^[0-9.]+$"), ("not_null", True)],
    "mem_mb": [("min", 128), ("max", 8192), ("max_length", 4), ("pattern", "^[0-9]+$"), ("not_null", True)],
    "battery_pct": [("min", 0), ("max", 100), ("max_length", 3), ("pattern", "^[0-9]+$"), ("not_null", True)],
    "network": [("allowed", NETWORKS), ("max_length", 7), ("pattern", "^[a-z0-9]+$"), ("not_null", True)],
    "owner_email": [("pattern", "^owner[0-9]{5}@example[.]com$"), ("max_length", 64), ("not_null", True)],
    "firmware": [("pattern", "^fw-[0-9.]+$"), ("max_length", 16), ("not_null", True)],
}


def columns() -> list[dict[str, Any]]:
    """The 16 contract columns, without rules."""
    copies = [{**c, "name": f"{c['name']}_2", "source": c["name"]} for c in BASE if c["name"] in COPIED]
    return [dict(c) for c in [*BASE, *copies]]


def pick(count: int) -> list[tuple[str, str, Any]]:
    """``count`` rules as (column, kind, value), round-robin over the columns."""
    pools = [[(c["name"], *rule) for rule in POOL[c.get("source", c["name"])]] for c in columns()]
    picked: list[tuple[str, str, Any]] = []
    depth = 0
    while len(picked) < count:
        layer = [pool[depth] for pool in pools if depth < len(pool)]
        if not layer:
            raise ValueError(f"at most {len(picked)} rules are available, asked for {count}")
        picked.extend(layer[: count - len(picked)])
        depth += 1
    return picked


def contract(count: int) -> dict[str, Any]:
    """Contract overrides for the usage dataset with ``count`` rules."""
    cols = {c["name"]: c for c in columns()}
    for column, kind, value in pick(count):
        cols[column]["nullable" if kind == "not_null" else kind] = False if kind == "not_null" else value
    return {"columns": list(cols.values()), "primary_key": [], "max_quarantine_rate": 1.0}


def _sql(column: str, kind: str, value: Any) -> str:
    col = f"`{column}`"
    text = f"CAST({col} AS STRING)"
    condition = {
        "not_null": f"{col} IS NOT NULL",
        "allowed": f"{text} IN ({', '.join(repr(str(v)) for v in value) if kind == 'allowed' else ''})",
        "min": f"{col} >= {value}",
        "max": f"{col} <= {value}",
        "pattern": f"{text} RLIKE '{value}'",
        "max_length": f"length({text}) <= {value}",
    }[kind]
    return condition if kind == "not_null" else f"{col} IS NULL OR ({condition})"


def sql_rules(count: int) -> list[tuple[str, str]]:
    """The same rules as (name, SQL condition that holds for a passing row)."""
    return [(f"{column} {kind}", _sql(column, kind, value)) for column, kind, value in pick(count)]


def hand_columns() -> tuple[dict[str, str], dict[str, str]]:
    """For the hand-written version: contract name -> source column, and -> Spark type."""
    cols = columns()
    return {c["name"]: c.get("source", c["name"]) for c in cols}, {c["name"]: c["type"] for c in cols}
