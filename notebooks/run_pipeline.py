# Databricks notebook source
# MAGIC %md
# MAGIC # Whole pipeline
# MAGIC Runs every layer (bronze → silver → gold, then derived gold tables) of a lakehouse
# MAGIC pipeline under one run_id. All logic lives in the `lakehouse` wheel.
# MAGIC Exit value: the run summary as JSON (run_id, status, rows per dataset and layer).

# COMMAND ----------

dbutils.widgets.text("pipeline", "devices", "Pipeline name or YAML path")
dbutils.widgets.text("env", "local", "Environment overlay")
dbutils.widgets.text("dataset", "", "Dataset(s), comma-separated; empty = all")
dbutils.widgets.dropdown("layer", "all", ["all", "bronze", "silver", "gold"], "Layers")
dbutils.widgets.text("conf_dir", "", "Config folder; empty = default")
dbutils.widgets.text("root", "", "Storage root override")
dbutils.widgets.text("landing", "", "Landing folder override")
dbutils.widgets.dropdown("fail_on_error", "true", ["true", "false"], "Fail the task on a failed run")

# COMMAND ----------

from lakehouse.orchestration import run_job

params = ("pipeline", "env", "dataset", "layer", "conf_dir", "root", "landing", "fail_on_error")
summary = run_job(spark, **{name: dbutils.widgets.get(name) for name in params})

# COMMAND ----------

dbutils.notebook.exit(summary)
