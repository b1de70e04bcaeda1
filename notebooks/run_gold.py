# Databricks notebook source
# MAGIC %md
# MAGIC # Gold layer
# MAGIC Runs the **gold** layer of a lakehouse pipeline for one dataset (or all).
# MAGIC All logic lives in the `lakehouse` wheel; this notebook only reads widgets.
# MAGIC Exit value: the run summary as JSON (run_id, status, rows per dataset and layer).

# COMMAND ----------

dbutils.widgets.text("pipeline", "devices", "Pipeline name or YAML path")
dbutils.widgets.text("env", "local", "Environment overlay")
dbutils.widgets.text("dataset", "", "Dataset(s), comma-separated; empty = all")
dbutils.widgets.text("conf_dir", "", "Config folder; empty = default")
dbutils.widgets.text("root", "", "Storage root override")
dbutils.widgets.text("landing", "", "Landing folder override")
dbutils.widgets.dropdown("fail_on_error", "true", ["true", "false"], "Fail the task on a failed run")

# COMMAND ----------

from lakehouse.orchestration import run_job

summary = run_job(
    spark,
    layer="gold",
    **{
        name: dbutils.widgets.get(name)
        for name in ("pipeline", "env", "dataset", "conf_dir", "root", "landing", "fail_on_error")
    },
)

# COMMAND ----------

dbutils.notebook.exit(summary)
