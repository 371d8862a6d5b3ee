"""Container health check: ``python -m shared.healthcheck <service>`` exits 0 when ready.

Reads the service's port from ``LT_<SERVICE>_PORT`` and asks its ``/readyz``.
"""

from __future__ import annotations

import os
import sys
import urllib.request

DEFAULT_PORTS = {"intake": 8001, "routing": 8002, "notification": 8003, "audit": 8004}


def main(argv: list[str]) -> int:
    service = argv[1]
    port = int(os.environ.get(f"LT_{service.upper()}_PORT", DEFAULT_PORTS[service]))
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=3) as response:
            return 0 if response.status == 200 else 1
    except OSError as exc:
        print(f"{service} not ready: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
