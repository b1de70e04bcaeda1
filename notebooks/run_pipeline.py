# Databricks notebook source
# MAGIC %md
# MAGIC # Whole pipeline
# MAGIC Runs every layer (bronze → silver → gold, then derived gold tables) of a lakehouse
# MAGIC pipeline under one run_id, or only the layer chosen in the `layer` widget. All logic
# MAGIC lives in the `lakehouse` wheel; the shared widgets are declared in `_parameters`.
# MAGIC Exit value: the run summary as JSON (run_id, status, rows per dataset and layer).

# COMMAND ----------

# MAGIC %run ./_parameters

# COMMAND ----------

dbutils.widgets.dropdown("layer", "all", ["all", "bronze", "silver", "gold"], "Layers")

# COMMAND ----------

from lakehouse.orchestration import run_job

summary = run_job(spark, layer=dbutils.widgets.get("layer"), **params)

# COMMAND ----------

dbutils.notebook.exit(summary)
