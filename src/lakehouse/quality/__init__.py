"""Data-quality expectations (Delta Live Tables semantics): warn, drop or fail, per rule.

Import the Spark-dependent parts from their modules (``lakehouse.quality.evaluate``) so that
importing this package stays cheap.
"""

from lakehouse.quality.results import METRICS_SCHEMA, RuleResult, combine, write_metrics

__all__ = ["METRICS_SCHEMA", "RuleResult", "combine", "write_metrics"]
