#!/usr/bin/env bash
# Run the tests that are not marked slow or main_line on the oldest supported Spark line (pyspark 3.5 +
# delta-spark 3.3, see constraints-spark35.txt) in a separate venv, .venv-spark35.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
VENV=.venv-spark35
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip uninstall --quiet --yes lakehouse 2>/dev/null || true
"$VENV/bin/python" -m pip install --quiet -c constraints-spark35.txt -e ".[dev]"
mkdir -p reports
# LAKEHOUSE_SPARK_JARS names the jars of the main pair (pyspark 4); this lane uses the ones
# fetched for its own pair when given (the dev container sets LAKEHOUSE_SPARK35_JARS), else
# lets Spark resolve them.
export LAKEHOUSE_SPARK_JARS="${LAKEHOUSE_SPARK35_JARS:-}"
exec "$VENV/bin/python" -m pytest tests integration_tests -m "not slow and not main_line" -p no:cacheprovider \
  --junitxml=reports/junit-spark35.xml "$@"
