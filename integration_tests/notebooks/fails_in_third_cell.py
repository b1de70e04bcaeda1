# Databricks notebook source
# MAGIC %md
# MAGIC A notebook that fails on purpose in its third cell (used by test_notebook_failure).

# COMMAND ----------

dbutils.widgets.text("device", "dev-00001")

# COMMAND ----------

threshold = int(dbutils.widgets.get("device"))

# COMMAND ----------

dbutils.notebook.exit("unreachable")
