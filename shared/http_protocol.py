"""The HTTP connection protocol every service serves with: uvicorn's httptools protocol,
with a deadline on request headers and problem+json for requests it cannot parse.

uvicorn bounds the idle time between requests (keep-alive) but not the time a client
takes to send a request's headers: a client that connects and sends nothing, or a byte
now and then (slowloris), holds its connection, and enough of them hold every file
descriptor. Here a request's headers must be complete within ``header_timeout_s`` of the
connection opening or of the request's first byte, as nginx's ``client_header_timeout``
does; a late client gets 408 and the connection is closed. uvicorn also answers a request
it cannot parse (a URL over about 64 KiB, broken HTTP) in plain text; here it is the
services' problem document, code ``malformed_http``.
"""

from __future__ import annotations

import asyncio
import json
from typing import ClassVar

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from shared.http import PROBLEM_JSON, problem_body


def problem_response(status: int, code: str, detail: str) -> bytes:
    """A whole HTTP/1.1 response carrying an RFC 9457 problem, closing the connection."""
    body = json.dumps(problem_body(status, code, detail)).encode()
    head = STATUS_LINE[status] + (
        f"content-type: {PROBLEM_JSON}\r\ncontent-length: {len(body)}\r\nconnection: close\r\n\r\n"
    ).encode("ascii")
    return head + body


class DeadlineHttpProtocol(HttpToolsProtocol):
    """httptools' protocol with a deadline on each request's headers."""

    header_timeout_s: ClassVar[float] = 20.0
    _header_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_deadline()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm_header_deadline()

    def on_headers_complete(self) -> None:
        self._disarm_header_deadline()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_deadline()
        super().connection_lost(exc)

    def send_400_response(self, msg: str) -> None:
        self._disarm_header_deadline()
        self.transport.write(problem_response(400, "malformed_http", msg))
        self.transport.close()

    def _arm_header_deadline(self) -> None:
        if self._header_deadline is None:
            self._header_deadline = self.loop.call_later(
                self.header_timeout_s, self._headers_too_slow
            )

    def _disarm_header_deadline(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _headers_too_slow(self) -> None:
        self._header_deadline = None
        if self.transport.is_closing():
            return
        detail = f"The request's headers did not arrive within {self.header_timeout_s:g} s."
        self.transport.write(problem_response(408, "request_timeout", detail))
        self.transport.close()


def deadline_protocol(header_timeout_s: float) -> type[DeadlineHttpProtocol]:
    """The protocol class for uvicorn's ``http=``, with this header deadline."""
    return type(
        "DeadlineHttpProtocol", (DeadlineHttpProtocol,), {"header_timeout_s": header_timeout_s}
    )
