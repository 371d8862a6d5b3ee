#!/usr/bin/env bash
# The test command: lint, type-check, then unit, integration and system tests against the
# real broker, store and identity provider. Starts Kafka, SecantusDB and Keycloak when they
# are not running, and stops afterwards only what it started.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv
started=()
stop_started() {
  if ((${#started[@]})); then "$VENV/bin/python" infra/devstack.py stop "${started[@]}"; fi
}
trap stop_started EXIT

echo "== ruff"; "$VENV/bin/ruff" check . && "$VENV/bin/ruff" format --check .
echo "== mypy"; "$VENV/bin/mypy"
for component in store kafka keycloak; do
  if ! "$VENV/bin/python" infra/devstack.py running "$component"; then started+=("$component"); fi
done
if ((${#started[@]})); then "$VENV/bin/python" infra/devstack.py start "${started[@]}"; fi
# The Go interoperability test (tests/interop) needs golang.org/x/mod and
# github.com/transparency-dev/formats: fetched once through
# the Go module proxy into Go's module cache under ~/.cache/lienthong/go, never the clone.
if command -v go >/dev/null; then
  echo "== go module for tests/interop (cached in ~/.cache/lienthong/go)"
  (cd tests/interop/go && GOMODCACHE="$HOME/.cache/lienthong/go/mod" \
    GOCACHE="$HOME/.cache/lienthong/go/build" GOFLAGS=-modcacherw go mod download -x)
else
  echo "== go not installed: tests/interop will be skipped"
fi
# Debian chromium for the console's browser test (installed once, idempotent).
bash infra/browser.sh
echo "== pytest"
# The suite uses the local broker's plaintext listener (tests/conftest.py says so too).
export LT_KAFKA_SECURITY_PROTOCOL="${LT_KAFKA_SECURITY_PROTOCOL:-PLAINTEXT}"
"$VENV/bin/pytest" -q -p no:cacheprovider "$@"
# The fault matrix (make chaos): the whole system as processes under injected faults, on
# its own topics and databases, with its own broker and store for the outage scenarios.
# Only for the whole run: `infra/test.sh tests/unit/...` runs just those tests.
if (($# == 0)); then
  echo "== chaos (fault matrix)"
  "$VENV/bin/python" -m chaos --dossiers 3
fi
