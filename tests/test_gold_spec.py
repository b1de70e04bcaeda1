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
