"""Container health check: ``python -m shared.healthcheck <service>`` exits 0 when ready.

Reads the service's port from ``LT_<SERVICE>_PORT`` and asks its ``/readyz``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request

DEFAULT_PORTS = {
    "intake": 8001,
    "routing": 8002,
    "notification": 8003,
    "audit": 8004,
    "console": 8005,
}


def service_port(service: str) -> int:
    """The port a service listens on: ``LT_<SERVICE>_PORT`` or its default."""
    return int(os.environ.get(f"LT_{service.upper()}_PORT", DEFAULT_PORTS[service]))


def readiness_error(service: str, timeout: float = 3) -> str | None:
    """None when the service on this machine answers ``/readyz`` with 200, else why not."""
    url = f"http://127.0.0.1:{service_port(service)}/readyz"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return None if response.status == 200 else f"status {response.status}"
    except urllib.error.HTTPError as exc:  # 503: which dependency failed, and how
        return _failing_checks(exc.read()) or f"status {exc.code}"
    except OSError as exc:
        return str(exc)


def _failing_checks(body: bytes) -> str | None:
    """``store unavailable: no answer within 2 s``, from a ``/readyz`` answer's checks."""
    try:
        checks = json.loads(body)["checks"]
    except (ValueError, KeyError, TypeError):
        return None
    failing = [f"{name} {result}" for name, result in checks.items() if result != "ok"]
    return "; ".join(failing) or None


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m shared.healthcheck",
        description="Exit 0 when the service on this machine answers /readyz with 200, "
        "else 1 with the reason (its port: LT_<SERVICE>_PORT or its default).",
    )
    parser.add_argument("service", choices=list(DEFAULT_PORTS))
    service = parser.parse_args(argv[1:]).service  # --help answers; a typo exits 2
    error = readiness_error(service)
    if error is not None:
        print(f"{service} not ready: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
