"""Which step chains guarantee one row per merge key (no Spark: decided from the config)."""

from __future__ import annotations

import pytest

from lakehouse.config.gold import TransformStep
from lakehouse.transforms.steps import unique_on

KEYS = ("device_id", "event_ts")
DEDUPE = TransformStep("dedupe", {"keys": ["device_id", "event_ts"], "order_by": "_ingested_at desc"})


@pytest.mark.parametrize(
    "steps, unique",
    [
        ((), False),
        ((DEDUPE,), True),
        ((TransformStep("dedupe", {"keys": "device_id", "order_by": "ts"}),), True),  # a subset of the keys
        ((TransformStep("dedupe", {"keys": ["device_id", "app"], "order_by": "ts"}),), False),
        ((DEDUPE, TransformStep("fill", {"values": {"network": "unknown"}})), True),
        ((DEDUPE, TransformStep("filter", {"value": "mem_mb > 0"})), True),
        ((DEDUPE, TransformStep("select", {"value": ["device_id", "`event_ts`", "app"]})), True),
        ((DEDUPE, TransformStep("select", {"value": ["lower(device_id) AS device_id", "event_ts"]})), False),
        ((DEDUPE, TransformStep("select", {"value": ["app AS device_id", "event_ts"]})), False),
        ((DEDUPE, TransformStep("standardize", {"columns": ["app"], "case": "lower"})), True),
        ((DEDUPE, TransformStep("standardize", {"columns": ["Device_ID"], "case": "lower"})), False),
        ((DEDUPE, TransformStep("standardize", {"case": "lower"})), False),  # every string column
        ((DEDUPE, TransformStep("fill", {"values": {"event_ts": "2026-01-01"}})), False),
        ((DEDUPE, TransformStep("replace", {"column": "device_id", "values": {"a": "b"}})), False),
        ((DEDUPE, TransformStep("to_utc", {"columns": ["event_ts"], "from_zone": "CET"})), False),
        ((DEDUPE, TransformStep("derive", {"device_id": "lower(device_id)"})), False),
        ((DEDUPE, TransformStep("rename", {"dev": "device_id"})), False),
        ((TransformStep("standardize", {"case": "lower"}), DEDUPE), True),  # changed before the dedupe
    ],
)
def test_unique_on(steps, unique):
    assert unique_on(steps, KEYS) is unique
