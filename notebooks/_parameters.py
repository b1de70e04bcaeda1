# Databricks notebook source
# MAGIC %md
# MAGIC # Shared parameters
# MAGIC Included with `%run ./_parameters` by every orchestration notebook: declares the
# MAGIC widgets and collects their values into `params` for `lakehouse.orchestration.run_job`.

# COMMAND ----------

dbutils.widgets.text("pipeline", "devices", "Pipeline name or YAML path")
dbutils.widgets.text("env", "local", "Environment overlay")
dbutils.widgets.text("dataset", "", "Dataset(s), comma-separated; empty = all")
dbutils.widgets.text("conf_dir", "", "Config folder; empty = default")
dbutils.widgets.text("root", "", "Storage root override")
dbutils.widgets.text("landing", "", "Landing folder override")
dbutils.widgets.dropdown("fail_on_error", "true", ["true", "false"], "Fail the task on a failed run")

params = {
    name: dbutils.widgets.get(name)
    for name in ("pipeline", "env", "dataset", "conf_dir", "root", "landing", "fail_on_error")
}
