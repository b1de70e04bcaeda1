#!/usr/bin/env bash
# Set up, then run the sample device-telemetry pipeline on local Spark into ./_lakehouse
# (or $LAKEHOUSE_ROOT). Running it again ingests nothing new: bronze is exactly-once.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/lakehouse run --config conf/pipelines/devices.yml --env local "$@"
