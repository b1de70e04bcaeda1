"""Shared fixtures: one local SparkSession with Delta for the whole test session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def spark() -> Iterator[object]:
    """The session-scoped local SparkSession (local[2], 2 shuffle partitions, UI off, Delta)."""
    from lakehouse.spark import get_spark

    os.environ.setdefault("LAKEHOUSE_LOG_FORMAT", "json")
    session = get_spark(profile="test")
    yield session
    session.stop()


@pytest.fixture()
def repo_root() -> Path:
    """The repository root (for conf/ and samples/)."""
    return REPO
