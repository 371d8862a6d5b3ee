"""No secret carried in a URL's query reaches a span or a log line: the applicant's
look-up token (intake), the console's OAuth callback code and state, a token in a
webhook URL. Spans are caught in memory through the repository's own request tracing
and library instrumentation (``shared.testing.capture_spans``)."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from shared.request_tracing import trace_requests
from shared.settings import TelemetrySettings
from shared.telemetry.logs import configure_logging
from shared.telemetry.url_secrets import redact_query, scrub_server_span
from shared.testing import capture_spans

TOKEN = "LOOKUP-SECRET-123"
CODE, STATE = "OAUTH-CODE-456", "OAUTH-STATE-789"
HOOK = "HOOK-TOKEN-000"


def secrets_in(spans: Any) -> list[tuple[str, str, object]]:
    return [
        (span.name, name, value)
        for span in spans
        for name, value in (span.attributes or {}).items()
        if any(secret in str(value) for secret in (TOKEN, CODE, STATE, HOOK))
    ]


def app_with_tracing() -> FastAPI:
    app = FastAPI()

    @app.get("/v1/dossiers/{code}")
    async def look_up(code: str, token: str | None = None) -> dict[str, str | None]:
        return {"code": code, "token": token}

    @app.get("/auth/callback")
    async def callback(code: str, state: str) -> dict[str, str]:
        return {"code": code, "state": state}

    trace_requests(app, untraced=["/healthz"])
    return app


async def test_query_secrets_are_redacted_on_server_and_client_spans() -> None:
    exporter = capture_spans()
    exporter.clear()
    transport = httpx.ASGITransport(app=app_with_tracing())
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        looked_up = await client.get(f"/v1/dossiers/D-1?token={TOKEN}&lang=vi")
        called_back = await client.get(f"/auth/callback?code={CODE}&state={STATE}")
    assert looked_up.json()["token"] == TOKEN  # the route still gets it
    assert called_back.json() == {"code": CODE, "state": STATE}

    spans = exporter.get_finished_spans()
    servers = [span.name for span in spans if span.kind == SpanKind.SERVER]
    assert sorted(servers) == ["GET /auth/callback", "GET /v1/dossiers/{code}"]  # one each
    assert secrets_in(spans) == []
    server = next(span for span in spans if span.name == "GET /v1/dossiers/{code}")
    assert server.attributes is not None
    assert server.attributes["http.url"] == (
        "http://testserver/v1/dossiers/D-1?token=REDACTED&lang=vi"
    )


@asynccontextmanager
async def receiver() -> AsyncIterator[str]:
    """A webhook receiver in this process, on a loopback port: the real httpx transport
    (the one the instrumentation wraps) sends to it; it answers 204 to anything."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            (
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ),
            0,
        )
        await reader.readexactly(length)
        writer.write(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"http://127.0.0.1:{port}"


async def test_an_outgoing_requests_query_secret_is_redacted_on_its_span() -> None:
    exporter = capture_spans()
    exporter.clear()
    async with receiver() as base, httpx.AsyncClient() as client:
        answer = await client.post(f"{base}/hook?token={HOOK}&unit=H59", json={})
    assert answer.status_code == 204

    spans = exporter.get_finished_spans()
    assert [(span.name, span.kind) for span in spans] == [("POST", SpanKind.CLIENT)]
    assert secrets_in(spans) == []
    assert spans[0].attributes is not None
    assert spans[0].attributes["http.url"] == f"{base}/hook?token=REDACTED&unit=H59"


def test_the_stable_conventions_url_and_query_attributes_are_redacted_too() -> None:
    """With OTEL_SEMCONV_STABILITY_OPT_IN=http the instrumentation writes url.full and
    url.query (and http.target carries the query in some versions)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    raw = f"token={TOKEN}&x=a%26b"
    with provider.get_tracer("t").start_as_current_span(
        "GET",
        attributes={
            "url.full": f"http://h/v1/dossiers/D-1?token={TOKEN}&x=a&b",
            "url.query": raw,
            "http.target": f"/v1/dossiers/D-1?{raw}",
            "url.path": "/v1/dossiers/D-1",
        },
    ) as span:
        scrub_server_span(span, {"query_string": raw.encode()})
    (ended,) = exporter.get_finished_spans()
    assert dict(ended.attributes or {}) == {
        "url.full": "http://h/v1/dossiers/D-1?token=REDACTED&x=a%26b",
        "url.query": "token=REDACTED&x=a%26b",
        "http.target": "/v1/dossiers/D-1?token=REDACTED&x=a%26b",
        "url.path": "/v1/dossiers/D-1",
    }


@pytest.mark.parametrize(
    ("query", "redacted"),
    [
        ("token=a&limit=5", "token=REDACTED&limit=5"),
        ("TOKEN=a", "TOKEN=REDACTED"),
        ("code=c&state=s&session_state=x", "code=REDACTED&state=REDACTED&session_state=REDACTED"),
        ("access%5Ftoken=a", "access%5Ftoken=REDACTED"),
        ("Signature=s&AWSAccessKeyId=k", "Signature=REDACTED&AWSAccessKeyId=REDACTED"),
        ("token", "token"),  # no value to hide
        ("months=6&dossier=D-1", "months=6&dossier=D-1"),
    ],
)
def test_secret_parameters_are_found_by_name_in_any_case_or_encoding(
    query: str, redacted: str
) -> None:
    assert redact_query(query) == redacted


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    saved_httpx = logging.getLogger("httpx").level
    try:
        configure_logging(TelemetrySettings(json_logs=True, log_level="INFO"), "notification")
        stream = io.StringIO()
        root.handlers[0].setStream(stream)  # type: ignore[attr-defined]
        yield stream
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
        logging.getLogger("httpx").setLevel(saved_httpx)


async def test_outgoing_request_urls_are_not_logged(log_lines: io.StringIO) -> None:
    async with receiver() as base, httpx.AsyncClient() as client:
        await client.post(f"{base}/hook?token={HOOK}", json={})
    logging.getLogger("notification.egress").info("delivered")
    assert HOOK not in log_lines.getvalue()
    assert "delivered" in log_lines.getvalue()  # logging works: only httpx's line is gone
