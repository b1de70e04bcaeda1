"""Data-quality expectations (Delta Live Tables semantics): warn, drop or fail, per rule.

Pure evaluation on DataFrames (``evaluate``) and the Column helpers it uses (``rules``); the
specs live in :mod:`lakehouse.config.expectations`, the metrics table in
:mod:`lakehouse.io.metrics`.
"""
