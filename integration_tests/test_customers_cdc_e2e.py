# Databricks notebook source
# MAGIC %md
# MAGIC # End to end: a customer change feed, two days of CDC files, SCD1 and SCD2 gold
# MAGIC Nutter fixture (see `test_pipeline_e2e.py` for how it runs locally and on Databricks).
# MAGIC The `customers` pipeline reads the sample's DMS-style change files; expected gold is
# MAGIC derived from the landed files in plain Python (`lakehouse.testing`, no Spark and no
# MAGIC lakehouse code, as docs/gold.md states the semantics); the planted cases of the sample
# MAGIC manifest (`cdc_cases`) are checked to be covered by it, so the expected tables are not a
# MAGIC snapshot of a run. Cases run in name order: day one, day two (late changes, a delete before
# MAGIC its insert; the run ledger's counts), the same run again, both days delivered again under
# MAGIC new file names.

# COMMAND ----------

# MAGIC %pip install nutter

# COMMAND ----------

from runtime.nutterfixture import NutterFixture

from lakehouse import testing

PIPELINE_NOTEBOOK = "../notebooks/run_pipeline"
ENV = "dev" if testing.ON_DATABRICKS else "local"
DAYS = ("2026-11-01", "2026-11-02")
TABLES = ("customers", "customers_history")
CDC_BUCKETS = {"inserted", "updated", "deleted", "stale", "duplicate", "no_op"}
PLANTED = {
    "delete_before_insert",
    "late_update",
    "late_delete",
    "duplicate",
    "redelivered",
    "insert_after_delete",
    "no_op",
    "same_second",
    "several_in_batch",
}
SCD1_COLUMNS = ("changed_at", "change_seq", "customer_id", "name", "city", "plan")
SCD2_COLUMNS = (*SCD1_COLUMNS, "valid_from", "valid_to", "is_current")


class CustomersChangeFeed(NutterFixture):
    """Two days of change files through bronze, silver and a change-feed gold, then a rerun."""

    def __init__(self) -> None:
        self.scratch = testing.new_scratch("lakehouse-cdc")
        self.landing = self.scratch.local("landing")
        self.ledger = self.scratch.spark("lake", "_lakehouse_runs")
        self.paths = {
            name: self.scratch.spark("lake", "gold", name)
            for table in TABLES
            for name in (table, f"{table}_tombstones")
        }
        self.batches: list[list[dict]] = []
        self.runs: dict[str, dict] = {}
        self.versions: dict[str, dict[str, int | None]] = {}
        super().__init__()

    def _land(self, day: str, suffix: str = "") -> None:
        testing.land_day(day, self.landing, datasets=("customers",), suffix=suffix)
        self.batches.append(testing.customer_changes(day))

    def _run(self, name: str) -> None:
        self.runs[name] = testing.run_notebook_pipeline(
            dbutils, PIPELINE_NOTEBOOK, "customers", ENV, self.scratch
        )
        self.versions[name] = testing.delta_versions(spark, self.paths)

    def _table(self, name: str, columns: tuple[str, ...]) -> set[tuple]:
        frame = spark.read.format("delta").load(self.paths[name]).select(*columns)
        return {tuple(row) for row in frame.collect()}

    def _check(self, name: str) -> None:
        run = self.runs[name]
        assert run["status"] == "succeeded", run["error"]
        scd1, scd1_counts = testing.expected_customers_scd1(self.batches)
        scd2, scd2_counts = testing.expected_customers_scd2(self.batches)
        assert self._table("customers", SCD1_COLUMNS) == {
            tuple(r[c] for c in SCD1_COLUMNS) for r in scd1.values()
        }
        assert self._table("customers_history", SCD2_COLUMNS) == {
            tuple(v[c] for c in SCD2_COLUMNS) for v in scd2
        }
        for table, counts in (("customers", scd1_counts[-1]), ("customers_history", scd2_counts[-1])):
            gold = run["datasets"][table]["gold"]
            assert gold["details"]["cdc"] == counts, (table, gold["details"]["cdc"], counts)
            assert gold["rows_read"] == gold["rows_dropped"] + sum(counts.values()) == len(self.batches[-1])

    def run_1_day_one(self) -> None:
        self._land(DAYS[0])
        self._run("day1")

    def assertion_1_day_one(self) -> None:
        self._check("day1")

    def run_2_day_two(self) -> None:
        self._land(DAYS[1])
        self._run("day2")

    def assertion_2_day_two(self) -> None:
        self._check("day2")
        stale = self.runs["day2"]["datasets"]["customers"]["gold"]["details"]["cdc"]["stale"]
        assert stale == 3, stale  # a late update, a late delete and an insert after its delete
        for table in TABLES:
            assert self.versions["day2"][table] > self.versions["day1"][table]
        # every planted case is visible in the tables (and so covered by the derivation above)
        planted = {case["case"] for case in testing.manifest()["cdc_cases"]}
        assert planted >= PLANTED, sorted(PLANTED - planted)
        customers = {
            row.customer_id for row in spark.read.format("delta").load(self.paths["customers"]).collect()
        }
        assert "cus-0017" not in customers  # deleted before its insert arrived
        assert "cus-0010" not in customers and "cus-0005" in customers  # deleted / deleted, then back
        history = spark.read.format("delta").load(self.paths["customers_history"])
        closed = history.where("customer_id = 'cus-0017'").collect()
        assert [(r.valid_to.hour, r.is_current) for r in closed] == [(16, False)]
        late = history.where("customer_id = 'cus-0002'").orderBy("valid_from").collect()
        assert [r.valid_from.strftime("%H:%M") for r in late] == ["08:14", "12:30", "13:00"]
        assert late[-1].is_current
        # the run ledger keeps each gold layer's CDC buckets, and they add up to the rows read
        gold = spark.read.format("delta").load(self.ledger).where("layer = 'gold' AND status <> 'running'")
        rows = gold.collect()
        assert len(rows) == 4, rows  # two datasets x two runs
        for row in rows:
            assert row.counts is not None and set(row.counts) == CDC_BUCKETS, row.counts
            assert row.rows_read == row.rows_dropped + sum(row.counts.values())

    def run_3_same_files_again(self) -> None:
        self._run("again")

    def assertion_3_same_files_again(self) -> None:
        run = self.runs["again"]
        assert run["status"] == "succeeded", run["error"]
        changed = {t for t in self.paths if self.versions["again"][t] != self.versions["day2"][t]}
        assert not changed, f"tables changed on a rerun: {changed}"
        assert run["datasets"]["customers"]["gold"]["rows_read"] == 0

    def run_4_both_days_delivered_again(self) -> None:
        # the same files under new names: bronze and silver take them in, gold sees only
        # changes it already has
        self._land(DAYS[0], "-again")
        self._land(DAYS[1], "-again")
        self._run("redelivered")

    def assertion_4_both_days_delivered_again(self) -> None:
        run = self.runs["redelivered"]
        assert run["status"] == "succeeded", run["error"]
        changed = {t for t in self.paths if self.versions["redelivered"][t] != self.versions["day2"][t]}
        assert not changed, f"gold changed on a redelivery: {changed}"
        for table in TABLES:
            gold = run["datasets"][table]["gold"]
            counts = gold["details"]["cdc"]
            assert gold["rows_read"] == len(self.batches[-1]) + len(self.batches[-2])
            assert counts["inserted"] == counts["updated"] == counts["deleted"] == 0, counts
            assert gold["rows_read"] == sum(counts.values())


# COMMAND ----------

result = CustomersChangeFeed().execute_tests()
print(result.to_string())
result.exit(dbutils)
