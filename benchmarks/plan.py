"""What an invocation measures: sizes, repeats and scenarios (full, quick and smoke plans)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

SCENARIOS = ("session", "a", "b", "c", "d", "e", "f")
TITLES = {
    "session": "Spark session start",
    "a": "landing to gold, first run",
    "b": "no-op rerun",
    "c": "1 new file after a 20-file first run",
    "d": "10 new files with K files already ingested",
    "e": "silver with N row rules",
    "f": "gold merge / SCD2 of 1% changed keys",
}


@dataclass
class Plan:
    """Parameters of one invocation; ``--quick`` and the smoke test use smaller ones."""

    mode: str
    sizes: list[int]  # a, b, c: usage rows
    files: int = 20
    repeat: int = 3
    seed: int = 20261101
    dirty: float = 0.002
    k_files: list[int] = field(default_factory=lambda: [100, 1000, 5000, 20_000])  # d
    k_rows_per_file: int = 20
    k_new: int = 10
    rules_rows: int = 1_000_000  # e
    rules: list[int] = field(default_factory=lambda: [1, 10, 50])
    merge_rows: int = 5_000_000  # f
    change_layout: str = "spread"
    session_repeat: int = 3
    # Session start without the remembered jar list (Ivy resolves Delta's jars) costs a cold
    # process of about 23 s; the full suite measures it, --quick leaves it out.
    session_variants: list[str] = field(
        default_factory=lambda: ["pyspark", "lakehouse", "lakehouse_no_jar_list"]
    )
    scenarios: list[str] = field(default_factory=lambda: list(SCENARIOS))
    driver_memory: str = "2g"
    # One warm session in this process for every job but session start (after an untimed
    # warm-up run), instead of a fresh process per job: fast, but no cold-JVM costs measured.
    shared_session: bool = False

    def spark_conf(self) -> dict[str, str]:
        """Extra settings of every measured session (library and baselines alike)."""
        return {"spark.driver.memory": self.driver_memory, "spark.ui.enabled": "false"}

    def wants(self, scenario: str) -> bool:
        return scenario in self.scenarios


FULL = Plan(mode="full", sizes=[1_000_000, 5_000_000])
QUICK = Plan(
    mode="quick",
    sizes=[20_000],
    repeat=1,
    k_files=[100, 1000],
    rules_rows=20_000,
    rules=[1, 50],  # the two ends the (e) target compares
    merge_rows=20_000,
    session_repeat=1,
    session_variants=["pyspark", "lakehouse"],
    shared_session=True,
)
SMOKE = Plan(
    mode="smoke",
    sizes=[200],
    files=2,
    repeat=1,
    k_files=[],
    rules_rows=200,
    merge_rows=200,
    session_repeat=1,
    scenarios=["a"],
    shared_session=True,
)
PLANS = {"full": FULL, "quick": QUICK, "smoke": SMOKE}


def plan_for(mode: str, **changes: object) -> Plan:
    """The named plan with command-line changes applied (None means keep the default)."""
    base = PLANS[mode]
    kept: dict[str, Any] = {k: v for k, v in changes.items() if v is not None}
    return dataclasses.replace(base, **kept)
