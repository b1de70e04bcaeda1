# Databricks notebook source
# MAGIC %md
# MAGIC # End to end: the sample pipeline through the orchestration notebook
# MAGIC Nutter fixture. Locally: collected by pytest (`integration_tests/conftest.py`) and run
# MAGIC through `lakehouse.notebooks`; on Databricks: `nutter run <folder> --cluster_id ...`.
# MAGIC Cases run in name order: first load, second day, same day again, bad file.

# COMMAND ----------

# MAGIC %pip install nutter

# COMMAND ----------

import json
import os
from pathlib import Path

from runtime.nutterfixture import NutterFixture

from lakehouse import testing
from lakehouse.spark import is_connect

PIPELINE_NOTEBOOK = "../notebooks/run_pipeline"
# Storage paths are overridden below; the environment only decides where secrets come from.
ENV = "dev" if testing.ON_DATABRICKS else "local"
DATASETS = ("usage", "device_config")
BAD_FILE = "\n".join(
    ["device_id,event_ts,app,cpu_pct,mem_mb,battery_pct,network,owner_email"]
    + [
        f"dev-000{10 + i},2026-11-04 0{i % 10}:15:00,mail,99.9,512,80,wifi,u{i}@example.com"
        for i in range(19)
    ]
    + ["dev-00099,2026-11-04 09:99:00,mail,not-a-number,512,80,wifi,x@example.com"]
)


class PipelineEndToEnd(NutterFixture):
    """Scenarios (a)-(d) of issue 5 on one scratch storage root."""

    def __init__(self) -> None:
        self.scratch = testing.new_scratch()
        self.landing = self.scratch.local("landing")
        self.paths = {
            **{f"bronze.{d}": self.scratch.spark("lake", "bronze", d) for d in DATASETS},
            **{f"silver.{d}": self.scratch.spark("lake", "silver", d) for d in DATASETS},
            "quarantine.usage": self.scratch.spark("lake", "silver", "usage_quarantine"),
            "gold.usage": self.scratch.spark("lake", "gold", "usage"),
            "gold.device_config_history": self.scratch.spark("lake", "gold", "device_config_history"),
            "gold.daily_device_usage": self.scratch.spark("lake", "gold", "daily_device_usage"),
        }
        self.landed: dict[str, dict[str, int]] = {}
        self.runs: dict[str, dict] = {}
        self.versions: dict[str, dict[str, int | None]] = {}
        super().__init__()

    def _run(self, name: str) -> None:
        self.runs[name] = testing.run_notebook_pipeline(
            dbutils, PIPELINE_NOTEBOOK, "devices", ENV, self.scratch
        )
        self.versions[name] = testing.delta_versions(spark, self.paths)
        # The Spark Connect lane compares these summaries with a classic run of the same
        # scenarios (connect_tests/), so each scenario runs once through the server.
        keep = os.environ.get("LAKEHOUSE_E2E_SUMMARIES")
        if keep:
            Path(keep).write_text(json.dumps({"connect": is_connect(spark), "runs": self.runs}))

    def _count(self, table: str) -> int:
        return spark.read.format("delta").load(self.paths[table]).count()

    def before_all(self) -> None:
        self.landed["day1"] = testing.land_day("2026-11-01", self.landing)

    # (a) first load of the sample data, bronze to gold
    def run_1_first_load(self) -> None:
        self._run("first")

    def assertion_1_first_load(self) -> None:
        run = self.runs["first"]
        assert run["status"] == "succeeded", run["error"]
        for name in DATASETS:
            layers = run["datasets"][name]
            assert layers["bronze"]["rows_written"] == self.landed["day1"][name], layers["bronze"]
            assert self._count(f"bronze.{name}") == self.landed["day1"][name]
            silver = layers["silver"]
            assert silver["rows_read"] == silver["rows_written"] + silver["rows_quarantined"]
            assert self._count(f"silver.{name}") == silver["rows_written"]
        assert self._count("quarantine.usage") == run["datasets"]["usage"]["silver"]["rows_quarantined"] > 0
        # Exact gold counts, derived from the landed files and the manifest (no lakehouse code).
        expected = testing.gold_usage_rows(day="2026-11-01")
        assert self._count("gold.usage") == len(expected)
        device_days = {(r["device_id"], r["event_ts"][:10]) for r in expected}
        assert self._count("gold.daily_device_usage") == len(device_days)

    # (b) a second day of files lands; only the new data flows to gold
    def run_2_second_day(self) -> None:
        self.landed["day2"] = testing.land_day("2026-11-02", self.landing)
        self._run("second")

    def assertion_2_second_day(self) -> None:
        run = self.runs["second"]
        assert run["status"] == "succeeded", run["error"]
        for name in DATASETS:
            layers = run["datasets"][name]
            assert layers["bronze"]["rows_written"] == self.landed["day2"][name]
            assert layers["silver"]["rows_read"] == self.landed["day2"][name]
            total = self.landed["day1"][name] + self.landed["day2"][name]
            assert self._count(f"bronze.{name}") == total
        silver_runs = spark.read.format("delta").load(self.paths["silver.usage"]).select("_run_id").distinct()
        assert silver_runs.count() == 2
        usage_gold = run["datasets"]["usage"]["gold"]
        assert usage_gold["rows_read"] == run["datasets"]["usage"]["silver"]["rows_written"]
        assert self.versions["second"]["gold.usage"] > self.versions["first"]["gold.usage"]

    # (d) the same day is run again: no table changes
    def run_3_same_day_again(self) -> None:
        self._run("again")

    def assertion_3_same_day_again(self) -> None:
        run = self.runs["again"]
        assert run["status"] == "succeeded", run["error"]
        for name in DATASETS:
            assert run["datasets"][name]["bronze"]["rows_written"] == 0
            assert run["datasets"][name]["silver"]["rows_read"] == 0
        changed = {t for t in self.paths if self.versions["again"][t] != self.versions["second"][t]}
        assert not changed, f"tables changed on a rerun: {changed}"
        assert run["datasets"]["daily_device_usage"]["gold"]["details"] == {"skipped": "inputs unchanged"}

    # (c) a bad file lands: bad rows quarantined with reasons; a fail expectation keeps gold
    def run_4_bad_file(self) -> None:
        target = self.landing / "usage" / "2026-11-04" / "usage-2026-11-04-bad.csv"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(BAD_FILE + "\n")
        self._run("bad")

    def assertion_4_bad_file(self) -> None:
        run = self.runs["bad"]
        usage = run["datasets"]["usage"]
        assert usage["bronze"]["rows_written"] == 20
        assert usage["silver"]["rows_quarantined"] == 1
        reasons = (
            spark.read.format("delta")
            .load(self.paths["quarantine.usage"])
            .where("_source_file like '%usage-2026-11-04-bad.csv'")
            .selectExpr("explode(_reasons) as r")
            .select("r.column", "r.rule")
            .collect()
        )
        assert {(r.column, r.rule) for r in reasons} >= {("cpu_pct", "cast"), ("event_ts", "cast")}, reasons
        assert run["status"] == "failed"
        assert usage["gold"]["status"] == "failed" and "cpu_plausible" in usage["gold"]["error"]
        assert self.versions["bad"]["gold.usage"] == self.versions["again"]["gold.usage"]


# COMMAND ----------

result = PipelineEndToEnd().execute_tests()
print(result.to_string())
result.exit(dbutils)
