# Databricks notebook source
# MAGIC %md
# MAGIC # Bronze layer
# MAGIC Runs the **bronze** layer of a lakehouse pipeline for one dataset (or all).
# MAGIC All logic lives in the `lakehouse` wheel; this notebook only reads widgets
# MAGIC (declared in `_parameters`). Exit value: the run summary as JSON (run_id, status,
# MAGIC rows per dataset and layer).

# COMMAND ----------

# MAGIC %run ./_parameters

# COMMAND ----------

from lakehouse.orchestration import run_job

summary = run_job(spark, layer="bronze", **params)

# COMMAND ----------

dbutils.notebook.exit(summary)
