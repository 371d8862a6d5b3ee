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
# The Go interoperability test (tests/interop) needs golang.org/x/mod: fetched once through
# the Go module proxy into Go's module cache under ~/.cache/lienthong/go, never the clone.
if command -v go >/dev/null; then
  echo "== go module for tests/interop (cached in ~/.cache/lienthong/go)"
  (cd tests/interop/go && GOMODCACHE="$HOME/.cache/lienthong/go/mod" \
    GOCACHE="$HOME/.cache/lienthong/go/build" GOFLAGS=-modcacherw go mod download -x)
else
  echo "== go not installed: tests/interop will be skipped"
fi
echo "== pytest"
"$VENV/bin/pytest" -q -p no:cacheprovider "$@"
