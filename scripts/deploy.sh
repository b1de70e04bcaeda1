#!/usr/bin/env bash
# Validate and deploy the Databricks bundle (databricks.yml) to a target, then run jobs.
#
#   scripts/deploy.sh dev|staging|prod [--wheel FILE_OR_DIR] [--run JOB]...
#
#   --wheel   deploy this lakehouse-etl wheel (a .whl, or a folder holding exactly one) instead
#             of building one: the pipeline passes the wheel its CI stage built and tested.
#   --run     after the deploy, `databricks bundle run` this job (repeatable), e.g. devices,
#             integration_tests; the script fails when the run fails.
#
# Needs the Databricks CLI (v0.250 or newer; scripts/install-databricks-cli.sh installs the
# pinned one) signed in to the target's workspace: DATABRICKS_HOST plus any unified-auth
# method, e.g. DATABRICKS_AUTH_TYPE=azure-cli inside the pipeline's AzureCLI@2 step, or
# `databricks auth login` on a laptop. Staging and prod jobs run as a service principal,
# given by BUNDLE_VAR_service_principal (inside AzureCLI@2 with addSpnToEnvironment it
# defaults to the service connection's own principal, $servicePrincipalId).
set -euo pipefail
cd "$(dirname "$0")/.."

usage="usage: scripts/deploy.sh dev|staging|prod [--wheel FILE_OR_DIR] [--run JOB]..."
target=${1:-}
case "$target" in
  dev | staging | prod) shift ;;
  *) echo "deploy: unknown target '${target}'; $usage" >&2; exit 2 ;;
esac
runs=()
while [ $# -gt 0 ]; do
  case "$1" in
    --wheel)
      wheel=${2:?--wheel needs a file or folder}
      if [ -d "$wheel" ]; then
        shopt -s nullglob
        found=("$wheel"/lakehouse_etl-*.whl)
        shopt -u nullglob
        [ ${#found[@]} -eq 1 ] || { echo "deploy: expected one lakehouse_etl-*.whl in $wheel, found ${#found[@]}" >&2; exit 2; }
        wheel=${found[0]}
      fi
      [ -f "$wheel" ] || { echo "deploy: wheel $wheel does not exist" >&2; exit 2; }
      export LAKEHOUSE_WHEEL=$wheel # scripts/build-wheel.sh (the bundle's artifact build) uses it
      shift 2 ;;
    --run) runs+=("${2:?--run needs a job name}"); shift 2 ;;
    *) echo "deploy: unknown argument '$1'; $usage" >&2; exit 2 ;;
  esac
done

if [ "$target" != dev ]; then
  export BUNDLE_VAR_service_principal=${BUNDLE_VAR_service_principal:-${servicePrincipalId:-}}
  if [ -z "$BUNDLE_VAR_service_principal" ]; then
    echo "deploy: $target jobs run as a service principal: set BUNDLE_VAR_service_principal to its application id" >&2
    exit 2
  fi
fi
if ! command -v databricks >/dev/null 2>&1; then
  echo "deploy: the Databricks CLI is not on PATH (scripts/install-databricks-cli.sh installs it)" >&2
  exit 1
fi
found=$(databricks --version 2>&1 || true)
case "$found" in
  "Databricks CLI v"*) ;;
  *) # e.g. "Version 0.18.0": the legacy databricks-cli pip package (nutter still depends on it)
    echo "deploy: 'databricks' on PATH is not the current Databricks CLI (it says: $found);" \
      "scripts/install-databricks-cli.sh installs it" >&2
    exit 1 ;;
esac

set -x
databricks bundle validate --target "$target"
databricks bundle deploy --target "$target"
for job in "${runs[@]}"; do
  databricks bundle run --target "$target" "$job"
done
