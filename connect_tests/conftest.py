"""The Spark Connect lane (scripts/test-connect.sh): tests that need a Spark Connect server.

``SPARK_REMOTE`` names the server the script started; without it these tests fail rather
than pass unchecked (run them through the script).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from lakehouse.log import configure_logging


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("LAKEHOUSE_LOG_FORMAT", "json")
    configure_logging()


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """A Spark Connect session to the server of scripts/test-connect.sh."""
    remote = os.environ.get("SPARK_REMOTE")
    assert remote, "SPARK_REMOTE is not set: run these tests with scripts/test-connect.sh"
    from lakehouse.spark import get_spark, is_connect

    session = get_spark(profile="test")
    assert is_connect(session), f"expected a Spark Connect session to {remote}, got {type(session)}"
    yield session
    session.stop()
