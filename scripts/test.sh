#!/usr/bin/env bash
# Set up, then lint, type-check and run the unit and integration tests on local Spark + Delta.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy src/lakehouse
mkdir -p reports
exec .venv/bin/python -m pytest integration_tests tests --junitxml=reports/junit.xml "$@"
