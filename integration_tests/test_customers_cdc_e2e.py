# Databricks notebook source
# MAGIC %md
# MAGIC # End to end: a customer change feed, two days of CDC files, SCD1 and SCD2 gold
# MAGIC Nutter fixture (see `test_pipeline_e2e.py` for how it runs locally and on Databricks).
# MAGIC The `customers` pipeline reads the sample's DMS-style change files; expected gold is
# MAGIC derived from the landed files in plain Python (`lakehouse.testing`). Cases run in name
# MAGIC order: day one, day two (late changes, a delete before its insert), the same run again.

# COMMAND ----------

# MAGIC %pip install nutter

# COMMAND ----------

from runtime.nutterfixture import NutterFixture

from lakehouse import testing

PIPELINE_NOTEBOOK = "../notebooks/run_pipeline"
ENV = "dev" if testing.ON_DATABRICKS else "local"
DAYS = ("2026-11-01", "2026-11-02")
TABLES = ("customers", "customers_history")
SCD1_COLUMNS = ("changed_at", "change_seq", "customer_id", "name", "city", "plan")
SCD2_COLUMNS = (*SCD1_COLUMNS, "valid_from", "valid_to", "is_current")


class CustomersChangeFeed(NutterFixture):
    """Two days of change files through bronze, silver and a change-feed gold, then a rerun."""

    def __init__(self) -> None:
        self.scratch = testing.new_scratch("lakehouse-cdc")
        self.landing = self.scratch.local("landing")
        self.paths = {
            name: self.scratch.spark("lake", "gold", name)
            for table in TABLES
            for name in (table, f"{table}_tombstones")
        }
        self.batches: list[list[dict]] = []
        self.runs: dict[str, dict] = {}
        self.versions: dict[str, dict[str, int | None]] = {}
        super().__init__()

    def _land(self, day: str) -> None:
        testing.land_day(day, self.landing, datasets=("customers",))
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

    def run_3_same_files_again(self) -> None:
        self._run("again")

    def assertion_3_same_files_again(self) -> None:
        run = self.runs["again"]
        assert run["status"] == "succeeded", run["error"]
        changed = {t for t in self.paths if self.versions["again"][t] != self.versions["day2"][t]}
        assert not changed, f"tables changed on a rerun: {changed}"


# COMMAND ----------

result = CustomersChangeFeed().execute_tests()
print(result.to_string())
result.exit(dbutils)
