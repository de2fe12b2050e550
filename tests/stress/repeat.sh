#!/usr/bin/env bash
# Run one test (or any pytest selection) N times in a row and report each run; a flaky
# test is a failing test (DEVELOPERS.md). Starts Kafka and Redis once for all runs with
# deploy.local.stack unless CCMON_TEST_KAFKA / CCMON_TEST_REDIS are set, and stops them.
#
#   tests/stress/repeat.sh 20 'tests/integration/test_golden.py::test_golden_metrics_equal_reference[two-workers-rebalance]'
#
# Each run's output is kept in $REPEAT_DIR (default: a new temporary directory).
set -uo pipefail
cd "$(dirname "$0")/../.."
if [[ $# -lt 2 || ! $1 =~ ^[0-9]+$ ]]; then
  echo "usage: $0 RUNS PYTEST_SELECTION..." >&2
  exit 2
fi
runs=$1
shift
python=${PYTHON:-.venv/bin/python}
out=${REPEAT_DIR:-$(mktemp -d -t ccmon-repeat.XXXXXX)}
mkdir -p "$out"
services=""
cleanup() { [[ -z $services ]] || python3 -m deploy.local.stack stop all "$services" >/dev/null 2>&1; }
trap cleanup EXIT
if [[ -z ${CCMON_TEST_KAFKA:-} || -z ${CCMON_TEST_REDIS:-} ]]; then
  services="$out/services"
  eval "$(python3 -m deploy.local.stack start kafka "$services")" || exit 1
  eval "$(python3 -m deploy.local.stack start redis "$services")" || exit 1
  export CCMON_TEST_KAFKA="$KAFKA_BOOTSTRAP" CCMON_TEST_KAFKA_VERSION="$KAFKA_VERSION"
  export CCMON_TEST_REDIS="$REDIS_URL"
fi
passed=0
started=$(date +%s)
for ((i = 1; i <= runs; i++)); do
  t0=$(date +%s)
  if "$python" -m pytest -q -p no:cacheprovider --basetemp="$out/run$i" "$@" >"$out/run$i.log" 2>&1; then
    passed=$((passed + 1))
    verdict=PASS
  else
    verdict=FAIL
  fi
  printf 'run %2d/%d %s in %ss (%s)\n' "$i" "$runs" "$verdict" "$(($(date +%s) - t0))" "$out/run$i.log"
done
printf '%d/%d passed in %ss: %s\n' "$passed" "$runs" "$(($(date +%s) - started))" "$*"
[[ $passed -eq $runs ]]
