#!/usr/bin/env bash
# Set up, then run the sample device-telemetry pipeline on local Spark into ./_lakehouse
# (or $LAKEHOUSE_ROOT). Running it again ingests nothing new: bronze is exactly-once.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# The sample contract hashes owner_email with a salted SHA-256. A real deployment takes the
# salt from a secret scope; for the local demo a throwaway value is enough.
export LAKEHOUSE_PII_SALT="${LAKEHOUSE_PII_SALT:-local-demo-salt}"
exec .venv/bin/lakehouse run --config conf/pipelines/devices.yml --env local "$@"
