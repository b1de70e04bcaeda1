"""Silver layer: conform bronze rows to the contract, quarantine the rest."""

from lakehouse.silver.runner import process

__all__ = ["process"]
