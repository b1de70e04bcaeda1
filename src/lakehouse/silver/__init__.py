"""Silver layer: conform bronze rows to the contract, quarantine the rest.

The entry point is :func:`lakehouse.silver.runner.process` (also ``lakehouse.process``); the
pure routing of a batch is :func:`lakehouse.silver.route.route`.
"""
