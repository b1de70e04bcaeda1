"""Bronze: incremental, exactly-once ingestion of landing files into Delta (see docs/bronze.md)."""

from lakehouse.bronze.runner import ingest

__all__ = ["ingest"]
