"""The sample pipeline through the e2e scenarios, returning each run's counts.

The scenarios of ``integration_tests/test_pipeline_e2e.py`` (same config, same files, same
order). Run as ``python connect_tests/scenarios.py <dir>`` on a classic local session
(``SPARK_REMOTE`` unset) by the comparison test; prints the JSON.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
COUNTS = ("status", "rows_read", "rows_written", "rows_quarantined", "rows_dropped")
BAD_ROWS = [
    "device_id,event_ts,app,cpu_pct,mem_mb,battery_pct,network,owner_email",
    *[
        f"dev-000{10 + i},2026-11-04 0{i % 10}:15:00,mail,99.9,512,80,wifi,u{i}@example.com"
        for i in range(19)
    ],
    "dev-00099,2026-11-04 09:99:00,mail,not-a-number,512,80,wifi,x@example.com",
]


def counts(summary: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    """``rows_*`` and status per dataset and layer of a run summary."""
    return {
        dataset: {layer: {k: result[k] for k in COUNTS} for layer, result in layers.items()}
        for dataset, layers in summary["datasets"].items()
    }


def run_scenarios(spark: Any, workdir: Path) -> dict[str, Any]:
    """First load, a second day, the same day again, a bad file: counts of each run."""
    import os

    from lakehouse import testing
    from lakehouse.config import load_config
    from lakehouse.pipeline import run_pipeline

    os.environ.setdefault("LAKEHOUSE_PII_SALT", "integration-test-salt")
    landing = workdir / "landing"
    storage = {"root": str(workdir / "lake"), "landing": str(landing)}
    config = load_config(REPO / "conf/pipelines/devices.yml", "local", overrides={"storage": storage})
    samples = REPO / "samples"
    out: dict[str, Any] = {}
    for name, step in (("first", "2026-11-01"), ("second", "2026-11-02"), ("again", None), ("bad", "bad")):
        if step == "bad":
            target = landing / "usage" / "2026-11-04" / "usage-2026-11-04-bad.csv"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text("\n".join(BAD_ROWS) + "\n")
        elif step is not None:
            testing.land_day(step, landing, samples)
        out[name] = counts(run_pipeline(spark, config, run_id=f"compare-{name}").to_dict())
    return out


if __name__ == "__main__":
    from lakehouse.spark import get_spark

    session = get_spark(profile="test")
    print(json.dumps(run_scenarios(session, Path(sys.argv[1]))))
    session.stop()
