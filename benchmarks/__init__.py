"""Benchmarks of the lakehouse library side by side with plain Spark (see README.md).

Not part of the installed package: run from a checkout with ``python -m benchmarks``.
"""
