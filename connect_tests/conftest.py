"""The Spark Connect lane (scripts/test-connect.sh): tests of what ran through the server.

They read what the e2e suite kept while it ran through the server the script started;
without it they fail rather than pass unchecked (run them through the script).
"""

from __future__ import annotations

import os

import pytest

from lakehouse.log import configure_logging


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("LAKEHOUSE_LOG_FORMAT", "json")
    configure_logging()
