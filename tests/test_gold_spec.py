"""Parsing of gold / derived sections (no Spark)."""

from __future__ import annotations

import pytest

from lakehouse.config.gold import parse_derived, parse_gold, parse_step
from lakehouse.config.model import load_config
from lakehouse.config.node import Node, Origins
from lakehouse.errors import ConfigError


def _node(value) -> Node:
    return Node(value, ("datasets", "usage", "gold"), Origins("devices.yml"))


def test_sample_pipeline_gold_sections_parse(repo_root):
    config = load_config(repo_root / "conf/pipelines/devices.yml", environ={})
    usage = config.datasets["usage"].gold
    assert (usage.mode, usage.keys) == ("merge", ("device_id", "event_ts"))
    assert [s.kind for s in usage.transforms] == ["standardize", "dedupe", "fill"]
    history = config.datasets["device_config"].gold
    assert history.scd2.effective_from == "snapshot_ts" and "os_version" in history.scd2.track
    daily = config.derived[0]
    assert (daily.name, daily.mode, daily.partition_by) == (
        "daily_device_usage",
        "overwrite_partitions",
        ("usage_date",),
    )


def test_scalar_and_list_steps_become_value_params():
    assert parse_step(_node({"filter": "mem_mb > 0"})).params == {"value": "mem_mb > 0"}
    assert parse_step(_node({"select": ["a", "b"]})).params == {"value": ["a", "b"]}
    assert parse_step(_node({"derive": {"day": "to_date(ts)"}})).params == {"day": "to_date(ts)"}


@pytest.mark.parametrize(
    "value, message",
    [
        ({"dedupe": {"keys": ["a"]}}, "missing keys \\['order_by'\\]"),
        ({"standardize": {"case": "lower", "colums": ["a"]}}, "unknown keys \\['colums'\\]"),
        ({"dedup": {"keys": ["a"]}}, "did you mean 'dedupe'"),
        ({"fill": {}, "filter": "x"}, "one key"),
    ],
)
def test_bad_steps_are_located_errors(value, message):
    with pytest.raises(ConfigError, match=message):
        parse_step(_node(value))


@pytest.mark.parametrize(
    "value, message",
    [
        ({"mode": "merge"}, "mode merge needs keys"),
        ({"mode": "overwrite_partitions"}, "needs partition_by"),
        ({"mode": "upsert", "keys": ["a"]}, "unsupported value"),
        (
            {
                "mode": "merge",
                "keys": ["a"],
                "expectations": [{"name": "x", "rule": "a > 0"}, {"name": "x", "rule": "a < 9"}],
            },
            "unique",
        ),
    ],
)
def test_bad_gold_sections(value, message):
    with pytest.raises(ConfigError, match=message):
        parse_gold(_node(value), "usage")


def test_derived_defaults_to_partition_overwrite():
    spec = parse_derived(
        _node({"name": "d", "inputs": ["usage"], "sql": "select 1 as p", "partition_by": ["p"]})
    )
    assert (spec.mode, spec.inputs, spec.expectations) == ("overwrite_partitions", ("usage",), ())


def _derived(sql: str, **extra):
    node = Node(
        {
            "name": "d",
            "inputs": ["usage"],
            "sql": sql,
            "partition_by": ["day"],
            "refresh": "partitions",
            **extra,
        },
        ("derived", "0"),
        Origins("devices.yml"),
    )
    return parse_derived(node)


def test_partition_refresh_is_taken_for_joins_and_aggregates_grouped_by_the_partition():
    sql = (
        "SELECT u.device_id, to_date(u.event_ts) AS day, count(*) AS n FROM gold_usage u "
        "LEFT JOIN gold_cfg c ON u.device_id = c.device_id GROUP BY u.device_id, to_date(u.event_ts)"
    )
    assert _derived(sql).refresh == "partitions"
    assert (
        _derived("SELECT a, day FROM gold_usage UNION ALL SELECT a, day FROM silver_usage").refresh
        == "partitions"
    )
    assert (
        parse_derived(
            _node({"name": "d", "inputs": ["u"], "sql": "select 1 as p", "partition_by": ["p"]})
        ).refresh
        == "full"
    )


@pytest.mark.parametrize(
    ("sql", "named"),
    [
        (
            "SELECT device_id, day, row_number() OVER (PARTITION BY device_id ORDER BY day) AS r FROM t",
            "window",
        ),
        ("SELECT * FROM t WHERE NOT EXISTS (SELECT 1 FROM u WHERE u.a = t.a)", "NOT EXISTS"),
        ("SELECT * FROM t LEFT ANTI JOIN u ON t.a = u.a", "anti join"),
        ("SELECT a, day FROM t EXCEPT SELECT a, day FROM u", "EXCEPT"),
        ("SELECT * FROM t WHERE x > (SELECT avg(x) FROM t)", "subquery used as a value"),
        (
            "SELECT device_id, max(day) AS day FROM t GROUP BY device_id",
            "leaves out the partition column(s) day",
        ),
        ("SELECT * FROM t ORDER BY day LIMIT 10", "LIMIT"),
    ],
)
def test_partition_refresh_refuses_sql_whose_rows_can_move_between_partitions(sql, named):
    with pytest.raises(ConfigError) as caught:
        _derived(sql)
    message = str(caught.value)
    assert named in message and "refresh: partitions" in message and "derived.0.refresh" in message


def test_partition_refresh_needs_partition_overwrite():
    with pytest.raises(ConfigError, match="refresh: partitions replaces partitions, but mode is merge"):
        _derived("SELECT a, day FROM t", mode="merge", keys=["a"])
