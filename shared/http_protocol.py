"""The HTTP connection protocol every service serves with: uvicorn's httptools protocol,
with a deadline on reading each request and problem+json for requests it cannot parse.

uvicorn bounds the idle time between requests (keep-alive) but not the time a client
takes to send a request: a client that connects and sends nothing, or a byte now and then
(slowloris), or sends headers and then trickles its body, holds its connection, and
enough of them hold every file descriptor (a trickled body no longer holds an in-flight
place: ``shared.http.InFlightLimit`` counts a request once its body is in). Here
a request, headers and body, must be read within ``read_timeout_s`` of the connection
opening or of the request's first byte (the bodies are JSON of a few kilobytes: the
dossiers' documents are named and hashed, not uploaded); a late client gets 408 and the
connection is closed. uvicorn also answers a request it cannot parse (a URL over about
64 KiB, broken HTTP) in plain text; here it is the services' problem document, code
``malformed_http``.
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
    """httptools' protocol with a deadline on reading each request."""

    read_timeout_s: ClassVar[float] = 20.0
    _read_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_read_deadline()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm_read_deadline()

    def on_message_complete(self) -> None:
        self._disarm_read_deadline()
        super().on_message_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_read_deadline()
        super().connection_lost(exc)

    def send_400_response(self, msg: str) -> None:
        self._disarm_read_deadline()
        self.transport.write(problem_response(400, "malformed_http", msg))
        self.transport.close()

    def _arm_read_deadline(self) -> None:
        if self._read_deadline is None:
            self._read_deadline = self.loop.call_later(self.read_timeout_s, self._read_too_slow)

    def _disarm_read_deadline(self) -> None:
        if self._read_deadline is not None:
            self._read_deadline.cancel()
            self._read_deadline = None

    def _read_too_slow(self) -> None:
        self._read_deadline = None
        if self.transport.is_closing():
            return
        answering = self.cycle is not None and self.cycle.response_started
        if not answering or self.cycle.response_complete:  # the request read is a new one
            detail = f"The request did not arrive whole within {self.read_timeout_s:g} s."
            self.transport.write(problem_response(408, "request_timeout", detail))
        self.transport.close()  # a route still reading the body sees the client gone


def deadline_protocol(read_timeout_s: float) -> type[DeadlineHttpProtocol]:
    """The protocol class for uvicorn's ``http=``, with this read deadline."""
    return type("DeadlineHttpProtocol", (DeadlineHttpProtocol,), {"read_timeout_s": read_timeout_s})
