#!/usr/bin/env bash
# The Spark Connect lane: start a local Spark Connect server (what serverless and standard
# access mode clusters give a notebook) from the installed pyspark, with Delta, bound to
# 127.0.0.1 on a free port; run the end-to-end tests through it with SPARK_REMOTE set; stop
# the server on exit, also on failure. The e2e suite (integration_tests) runs each scenario once
# through the server and keeps its summaries; connect_tests then runs the same scenarios on a
# classic local session and compares the counts (with LAKEHOUSE_E2E_CLASSIC set, as .ci/run does,
# it reads the summaries the classic e2e run of the main lane kept instead). Arguments are passed
# to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || scripts/setup.sh
PY=.venv/bin/python
SITE=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
PORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
WORK=$(mktemp -d "${TMPDIR:-/tmp}/lakehouse-connect.XXXXXX")
LOG="$WORK/server.log"
# Delta's jars: the remembered list (no network) or the Maven coordinate for this pyspark.
mapfile -t DELTA < <("$PY" -c 'from lakehouse.spark import delta_jar_conf
for k, v in delta_jar_conf().items(): print(f"{k}={v}")')

export SPARK_HOME="$SITE/pyspark"
export SPARK_LOCAL_IP=127.0.0.1
# The server's Python workers run this venv's interpreter with the repo's code importable.
export PYSPARK_PYTHON="$PWD/$PY"
export PYTHONPATH="$PWD/src:$SITE"

args=(--class org.apache.spark.sql.connect.service.SparkConnectServer --master "local[2]"
  --driver-memory "${LAKEHOUSE_CONNECT_MEMORY:-1536m}"
  --conf spark.connect.grpc.binding.address=127.0.0.1
  --conf "spark.connect.grpc.binding.port=$PORT"
  --conf spark.sql.extensions=io.delta.sql.DeltaSparkSessionExtension
  --conf spark.sql.catalog.spark_catalog=org.apache.spark.sql.delta.catalog.DeltaCatalog
  --conf spark.sql.session.timeZone=UTC
  --conf spark.sql.shuffle.partitions=2
  --conf spark.default.parallelism=2
  --conf spark.ui.enabled=false
  --conf spark.databricks.delta.snapshotPartitions=2
  --conf spark.databricks.delta.delete.deletionVectors.persistent=false
  --conf spark.databricks.delta.schema.autoMerge.enabled=false
  --conf "spark.sql.warehouse.dir=$WORK/warehouse"
  --conf "spark.driver.extraJavaOptions=-Dderby.system.home=$WORK"
  --conf "spark.executorEnv.PYTHONPATH=$PYTHONPATH")
for kv in "${DELTA[@]}"; do args+=(--conf "$kv"); done

"$SPARK_HOME/bin/spark-submit" "${args[@]}" >"$LOG" 2>&1 &
SERVER=$!
stop() {
  # spark-submit execs the JVM, so $SERVER is the server itself; it gets 20 s to shut down.
  kill "$SERVER" 2>/dev/null || true
  for _ in $(seq 1 20); do kill -0 "$SERVER" 2>/dev/null || break; sleep 1; done
  kill -9 "$SERVER" 2>/dev/null || true
  wait "$SERVER" 2>/dev/null || true
  rm -rf "$WORK"
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for _ in $(seq 1 180); do
  if "$PY" -c "import socket, sys; socket.create_connection(('127.0.0.1', $PORT), 1)" 2>/dev/null; then
    break
  fi
  if ! kill -0 "$SERVER" 2>/dev/null; then
    echo "test-connect: the Spark Connect server stopped while starting:" >&2
    tail -n 40 "$LOG" >&2
    exit 1
  fi
  sleep 1
done
echo "test-connect: Spark Connect server on 127.0.0.1:$PORT"

export SPARK_REMOTE="sc://127.0.0.1:$PORT"
export LAKEHOUSE_E2E_SUMMARIES="$WORK/e2e-summaries.json"
mkdir -p reports
set +e
# Order matters: connect_tests reads what the e2e suite kept.
"$PY" -m pytest integration_tests tests/test_pipeline.py tests/test_local_rows.py tests/test_changed_files.py connect_tests -p no:cacheprovider \
  --junitxml=reports/junit-connect.xml "$@"
status=$?
set -e
if [ "$status" -ne 0 ]; then
  echo "test-connect: last lines of the server log ($LOG):" >&2
  tail -n 30 "$LOG" >&2
fi
exit "$status"
