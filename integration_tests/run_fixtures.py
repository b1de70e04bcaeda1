# Databricks notebook source
# MAGIC %md
# MAGIC # Run the Nutter fixtures and fail on a failed case
# MAGIC The bundle's `integration_tests` job runs this notebook. It runs each fixture notebook of
# MAGIC this folder with `dbutils.notebook.run`, prints every test case, and raises when a case
# MAGIC failed, so the job run (and the pipeline stage that started it) fails too. Locally,
# MAGIC pytest collects the same fixtures directly (`integration_tests/conftest.py`).

# COMMAND ----------

# MAGIC %pip install nutter

# COMMAND ----------

import json

from common.testresult import TestResults

dbutils.widgets.text("fixtures", "test_pipeline_e2e,test_customers_cdc_e2e,test_notebook_failure", "Fixtures")
dbutils.widgets.text("timeout_seconds", "3600", "Time limit per fixture")
fixtures = [name.strip() for name in dbutils.widgets.get("fixtures").split(",") if name.strip()]
timeout = int(dbutils.widgets.get("timeout_seconds"))

# COMMAND ----------

cases, failed = [], []
for fixture in fixtures:
    results = TestResults().deserialize(dbutils.notebook.run(f"./{fixture}", timeout, {}))
    if not results.results:
        failed.append(f"{fixture}: ran no test case")
    for case in results.results:
        outcome = "passed" if case.passed else "FAILED"
        cases.append({"fixture": fixture, "case": case.test_name, "passed": case.passed})
        print(f"{fixture}::{case.test_name} {outcome} ({case.execution_time:.1f} s)")
        if not case.passed:
            failed.append(f"{fixture}::{case.test_name}: {case.exception!r}")
            print(case.stack_trace)

# COMMAND ----------

if failed:
    raise AssertionError(f"{len(failed)} of {len(cases)} Nutter case(s) failed:\n" + "\n".join(failed))
dbutils.notebook.exit(json.dumps({"passed": len(cases), "cases": cases}))
