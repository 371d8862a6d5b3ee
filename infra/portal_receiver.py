"""A local stand-in for the national portal's endpoint: shows what the connector would send.

Every POSTed message is appended, as one JSON line, to a file (``make run``:
``.local/portal/received.jsonl``) and answered 200. ``fail_first`` makes the first N
requests answer 503, to see retries. Standard library only; run it with
``python -m infra.portal_receiver --port 8085 --out .local/portal/received.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


class PortalReceiver(ThreadingHTTPServer):
    """Keeps what it received, in memory and (if given) in a JSON-lines file."""

    def __init__(self, port: int, out: Path | None = None, fail_first: int = 0) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.out, self.fail_first = out, fail_first
        self.requests = 0
        self.received: list[dict[str, Any]] = []
        self.authorizations: list[str | None] = []
        self._lock = threading.Lock()
        if out is not None:
            out.parent.mkdir(parents=True, exist_ok=True)

    def take(self, body: bytes, authorization: str | None) -> int:
        with self._lock:
            self.requests += 1
            if self.requests <= self.fail_first:
                return 503
            message = json.loads(body)
            self.received.append(message)
            self.authorizations.append(authorization)
            if self.out is not None:
                with self.out.open("a", encoding="utf-8") as file:
                    file.write(json.dumps(message, ensure_ascii=False) + "\n")
            return 200


class _Handler(BaseHTTPRequestHandler):
    server: PortalReceiver

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        status = self.server.take(self.rfile.read(length), self.headers.get("Authorization"))
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"error_code": 0}' if status == 200 else b'{"error_code": -1}')

    def log_message(self, format: str, *args: Any) -> None:
        return


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8085)
    parser.add_argument("--out", type=Path, default=Path(".local/portal/received.jsonl"))
    args = parser.parse_args()
    PortalReceiver(args.port, args.out).serve_forever()


if __name__ == "__main__":
    main()
