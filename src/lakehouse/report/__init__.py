"""``lakehouse report``: one self-contained HTML page about a pipeline's recent runs.

:mod:`~lakehouse.report.gather` reads what the page shows (run ledger, quarantine tables,
expectation metrics, freshness) into one JSON-ready dict; :mod:`~lakehouse.report.conservation`,
:mod:`~lakehouse.report.charts` and :mod:`~lakehouse.report.page` are pure and turn that dict
into HTML. This ``__init__`` imports nothing, so using the renderer never loads Spark.
"""
