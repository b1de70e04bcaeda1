#!/usr/bin/env bash
# Create .venv (Python 3.11+) and install lakehouse with its dev extra, pinned by constraints.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
# The distribution was renamed from `lakehouse` to `lakehouse-etl`; drop an older install
# and the metadata its editable install left in src/.
.venv/bin/python -m pip uninstall --quiet --yes lakehouse 2>/dev/null || true
rm -rf src/lakehouse.egg-info
.venv/bin/python -m pip install --quiet -c constraints.txt -e ".[dev]"
java -version >/dev/null 2>&1 || { echo "setup: Java 17+ is required by Spark (java not found)" >&2; exit 1; }
