"""How a pipeline runs, as opposed to what it computes: the Spark session and the run lock."""

from __future__ import annotations

from dataclasses import dataclass, field

from lakehouse.config.node import Node


@dataclass(frozen=True)
class SparkSettings:
    """Settings used only when lakehouse builds the session itself (local runs)."""

    master: str = "local[*]"
    app_name: str = "lakehouse"
    conf: dict[str, str] = field(default_factory=dict)


def parse_spark(node: Node) -> SparkSettings:
    """The ``spark`` section."""
    if not node.missing:
        node.check_keys(frozenset({"master", "app_name", "conf"}))
    return SparkSettings(
        master=node.get_str("master", "local[*]"),
        app_name=node.get_str("app_name", "lakehouse"),
        conf=node.get_scalar_map("conf", {}),
    )


@dataclass(frozen=True)
class RunLockSettings:
    """One run at a time per pipeline and root (see :mod:`lakehouse.io.lease`).

    ``wait_seconds``: how long a second run waits for the first to finish before it gives up
    with "pipeline X is already running"; ``lease_seconds``: how long a lease lasts without
    renewal (a running pipeline renews it every quarter of that), i.e. how long a crashed
    run keeps the pipeline locked at most. ``enabled: false`` turns the lock off.
    """

    enabled: bool = True
    wait_seconds: float = 0.0
    lease_seconds: float = 600.0


def parse_run_lock(node: Node) -> RunLockSettings:
    """The ``run_lock`` section: ``enabled``, ``wait`` and ``lease`` (durations like 30s, 10m)."""
    if node.missing:
        return RunLockSettings()
    node.check_keys(frozenset({"enabled", "wait", "lease"}))
    lease = node.get_seconds("lease", RunLockSettings.lease_seconds)
    if lease < 10:
        raise node.child("lease").error("is too short", expected="at least 10s (renewed every quarter of it)")
    return RunLockSettings(
        enabled=node.get_bool("enabled", True),
        wait_seconds=node.get_seconds("wait", 0.0),
        lease_seconds=lease,
    )
