#!/usr/bin/env bash
# The test command: lint, type-check, then unit and integration tests against the real
# broker and store. Starts Kafka and SecantusDB if they are not running, and stops
# them afterwards only if it started them.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv
started=0
stop_started() {
  if [[ $started == 1 ]]; then "$VENV/bin/python" infra/devstack.py stop; fi
}
trap stop_started EXIT

echo "== ruff"; "$VENV/bin/ruff" check . && "$VENV/bin/ruff" format --check .
echo "== mypy"; "$VENV/bin/mypy"
if ! "$VENV/bin/python" infra/devstack.py running; then
  "$VENV/bin/python" infra/devstack.py start
  started=1
fi
echo "== pytest"
"$VENV/bin/pytest" -q -p no:cacheprovider "$@"
