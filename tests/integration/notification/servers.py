"""Real local servers for notification tests: an SMTP sink and a webhook receiver.

The SMTP sink is aiosmtpd on a free port; it keeps every message that arrived. The
webhook receiver is a small Starlette app under uvicorn that verifies signatures
with ``notification.signing.verify`` exactly as an agency system would, and answers
according to a per-endpoint plan (fail N times, always fail, accept).
"""

from __future__ import annotations

import contextlib
import email
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

from aiosmtpd.controller import Controller
from notification.signing import (
    EVENT_ID_HEADER,
    EVENT_TYPE_HEADER,
    SIGNATURE_HEADER,
    SignatureError,
    verify,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shared.testing import free_port
from tests.integration.serving import served


@dataclass
class Received:
    rcpt: list[str]
    message: EmailMessage
    peer: Any = None  # the client's address and port: one per connection

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def body(self) -> str:
        return str(self.message.get_content())


class _Collector:
    def __init__(self) -> None:
        self.messages: list[Received] = []
        self.port = 0

    def to(self, address: str) -> list[Received]:
        return [m for m in self.messages if address in m.rcpt]

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.original_content, policy=default_policy)
        self.messages.append(Received(list(envelope.rcpt_tos), parsed, session.peer))
        return "250 OK"


@contextlib.contextmanager
def smtp_sink(port: int | None = None, handler: _Collector | None = None) -> Iterator[_Collector]:
    """A real SMTP server on 127.0.0.1 (on ``port``, else a free one) for the block;
    ``handler`` may answer otherwise than the sink (a subclass)."""
    collector = handler or _Collector()
    controller = Controller(collector, hostname="127.0.0.1", port=port or free_port())
    controller.start()
    try:
        collector.port = controller.port
        yield collector
    finally:
        controller.stop()


@dataclass
class Endpoint:
    """How one receiver path behaves: its secret (the one the subscription answer showed)
    and how many requests fail first."""

    secret: str = ""
    fail_first: int = 0
    always_fail: bool = False
    status_on_failure: int = 503
    requests: int = 0
    accepted: list[dict[str, str]] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    duplicates: int = 0


class WebhookReceiver:
    """An agency system's webhook endpoint: verifies, deduplicates by event id, records."""

    def __init__(self) -> None:
        self.endpoints: dict[str, Endpoint] = {}
        self.port = free_port()
        self._seen: set[tuple[str, str]] = set()

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/{name}"

    def endpoint(self, name: str, **behaviour: Any) -> Endpoint:
        self.endpoints[name] = Endpoint(**behaviour)
        return self.endpoints[name]

    async def receive(self, request: Request) -> Response:
        endpoint = self.endpoints[request.path_params["name"]]
        endpoint.requests += 1
        body = await request.body()
        try:
            verify(endpoint.secret, body, request.headers.get(SIGNATURE_HEADER), now=time.time())
        except SignatureError as exc:
            endpoint.rejected.append(exc.reason)
            return Response(status_code=401)
        if endpoint.always_fail or endpoint.requests <= endpoint.fail_first:
            return Response(status_code=endpoint.status_on_failure)
        event_id = request.headers[EVENT_ID_HEADER]
        key = (request.path_params["name"], event_id)
        if key in self._seen:  # a replay or a resend: acknowledge, do not act again
            endpoint.duplicates += 1
            return Response(status_code=200)
        self._seen.add(key)
        endpoint.accepted.append(
            {"event_id": event_id, "event_type": request.headers[EVENT_TYPE_HEADER]}
        )
        return Response(status_code=204)


@contextlib.asynccontextmanager
async def webhook_receiver() -> AsyncIterator[WebhookReceiver]:
    """A real HTTP receiver on 127.0.0.1 for the duration of the block."""
    receiver = WebhookReceiver()
    app = Starlette(routes=[Route("/hooks/{name}", receiver.receive, methods=["POST"])])
    async with served(app, port=receiver.port, lifespan="off"):
        yield receiver
