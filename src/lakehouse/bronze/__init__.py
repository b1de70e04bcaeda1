"""Bronze: incremental, exactly-once ingestion of landing files into Delta (see docs/bronze.md).

The entry point is :func:`lakehouse.bronze.runner.ingest` (also ``lakehouse.ingest``).
"""
