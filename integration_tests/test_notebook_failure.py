# Databricks notebook source
# MAGIC %md
# MAGIC # A failing notebook is reported with notebook, cell and cause
# MAGIC Nutter fixture; runs locally through `lakehouse.notebooks` (pytest) and on Databricks
# MAGIC with `nutter run`.

# COMMAND ----------

# MAGIC %pip install nutter

# COMMAND ----------

from runtime.nutterfixture import NutterFixture


class NotebookFailureFixture(NutterFixture):
    """Scenario (e): a notebook failing in its third cell."""

    def __init__(self) -> None:
        self.error: Exception | None = None
        super().__init__()

    def run_failing_notebook_is_reported(self) -> None:
        try:
            dbutils.notebook.run("./notebooks/fails_in_third_cell", 120, {"device": "dev-00042"})
        except Exception as exc:  # both the local runner and Databricks raise here
            self.error = exc

    def assertion_failing_notebook_is_reported(self) -> None:
        assert self.error is not None, "the failing notebook did not raise"
        message = str(self.error)
        assert "dev-00042" in message, message  # the cause (int() of the widget value)
        from lakehouse.notebooks import NotebookError

        if isinstance(self.error, NotebookError):  # local runner: precise location
            assert self.error.notebook.endswith("fails_in_third_cell.py"), message
            assert self.error.cell_number == 3, message
            assert self.error.first_line.startswith("threshold = int("), message
            assert isinstance(self.error.__cause__, ValueError), repr(self.error.__cause__)


# COMMAND ----------

result = NotebookFailureFixture().execute_tests()
print(result.to_string())
result.exit(dbutils)
