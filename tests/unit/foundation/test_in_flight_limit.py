"""Past its limit of requests in flight a service refuses at once, and says when to retry."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import cast

import httpx
import pytest
from fastapi import FastAPI, Request

from shared.app import service_app
from shared.http import InFlightLimit, install_error_handlers
from shared.settings import HttpSettings
from shared.telemetry.metrics import HTTP_IN_FLIGHT, HTTP_SHED


class Gate:
    """Holds requests to ``/slow`` until opened; counts those that arrived."""

    def __init__(self) -> None:
        self.open = asyncio.Event()
        self.arrived = asyncio.Semaphore(0)


def build_app(gate: Gate, limit: int) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app, {})

    @app.post("/slow")
    async def slow() -> dict[str, bool]:
        gate.arrived.release()
        await gate.open.wait()
        return {"done": True}

    @app.post("/read")
    async def read(request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    app.add_middleware(InFlightLimit, limit=limit)
    return app


@pytest.fixture
async def gate() -> Gate:
    return Gate()


@pytest.fixture
async def client(gate: Gate) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=build_app(gate, limit=2))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        yield c


async def test_the_request_past_the_limit_is_refused_with_retry_after(
    client: httpx.AsyncClient, gate: Gate
) -> None:
    held = [asyncio.create_task(client.post("/slow")) for _ in range(2)]
    for _ in held:
        await gate.arrived.acquire()
    shed_before = HTTP_SHED.labels("")._value.get()
    assert HTTP_IN_FLIGHT.labels("")._value.get() == 2

    refused = await client.post("/slow")

    assert refused.status_code == 503
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.headers["retry-after"] == "1"
    assert refused.json()["code"] == "overloaded"
    assert HTTP_SHED.labels("")._value.get() == shed_before + 1
    gate.open.set()
    assert [r.status_code for r in await asyncio.gather(*held)] == [200, 200]
    assert HTTP_IN_FLIGHT.labels("")._value.get() == 0


async def test_probes_answer_while_overloaded(client: httpx.AsyncClient, gate: Gate) -> None:
    held = [asyncio.create_task(client.post("/slow")) for _ in range(2)]
    for _ in held:
        await gate.arrived.acquire()

    assert (await client.get("/healthz")).status_code == 200
    gate.open.set()
    await asyncio.gather(*held)


async def test_a_finished_request_frees_its_place(client: httpx.AsyncClient, gate: Gate) -> None:
    gate.open.set()
    replies = [await client.post("/slow") for _ in range(5)]
    assert [r.status_code for r in replies] == [200] * 5


async def test_a_request_that_fails_frees_its_place(gate: Gate) -> None:
    app = build_app(gate, limit=1)

    @app.post("/broken")
    async def broken() -> None:
        raise RuntimeError("a bug")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.post("/broken")).status_code == 500
        gate.open.set()
        assert (await client.post("/slow")).status_code == 200


async def test_uncounted_paths_such_as_event_streams_hold_no_place(gate: Gate) -> None:
    app = FastAPI()
    install_error_handlers(app, {})

    @app.get("/stream")
    async def stream() -> dict[str, bool]:  # as a server-sent event stream, it stays open
        gate.arrived.release()
        await gate.open.wait()
        return {"ended": True}

    @app.get("/view")
    async def view() -> dict[str, bool]:
        return {"shown": True}

    app.add_middleware(InFlightLimit, limit=1, uncounted=frozenset({"/stream"}))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        streams = [asyncio.create_task(client.get("/stream")) for _ in range(3)]
        for _ in streams:
            await gate.arrived.acquire()
        assert (await client.get("/view")).status_code == 200
        gate.open.set()
        await asyncio.gather(*streams)


def test_the_consoles_health_stream_is_not_counted() -> None:
    from console.api import HEALTH_STREAM
    from console.main import create_app

    app = create_app()
    [limit] = [m.kwargs for m in app.user_middleware if m.cls is InFlightLimit]  # type: ignore[comparison-overlap]
    assert HEALTH_STREAM == "/api/health/stream"
    assert HEALTH_STREAM in cast(frozenset[str], limit["uncounted"])
    assert HEALTH_STREAM in app.openapi()["paths"]


async def test_a_request_whose_body_is_still_coming_holds_no_place(gate: Gate) -> None:
    """A client trickling its body (no token needed) must not keep others out."""
    body_sent, more_asked = asyncio.Event(), asyncio.Event()

    async def trickled() -> AsyncIterator[bytes]:
        yield b"{"
        more_asked.set()  # the service is reading this request's body
        await body_sent.wait()
        yield b"}"

    transport = httpx.ASGITransport(app=build_app(gate, limit=1))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        trickling = asyncio.create_task(client.post("/read", content=trickled()))
        await more_asked.wait()
        try:
            other = await client.post("/read", content=b"{}")
        finally:
            body_sent.set()
        assert (await trickling).json() == {"bytes": 2}
    assert other.status_code == 200  # the place was free


@asynccontextmanager
async def no_lifespan(_: FastAPI) -> AsyncIterator[None]:
    yield


def service_stack(max_bytes: int) -> FastAPI:
    """A service's app with the services' own middleware order (shared.app)."""
    app = service_app(
        title="t",
        description="t",
        lifespan=no_lifespan,
        http=HttpSettings(max_body_bytes=max_bytes),
    )

    @app.post("/echo")
    async def echo(body: dict[str, str]) -> dict[str, str]:
        return body

    return app


async def test_a_body_over_the_limit_without_a_declared_length_is_refused_413() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(8):
            yield b"x" * 100  # sent chunked: no Content-Length to refuse early

    transport = httpx.ASGITransport(app=service_stack(max_bytes=500))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        refused = await client.post("/echo", content=chunks())
        served = await client.post("/echo", json={"a": "b"})
    assert refused.status_code == 413
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "body_too_large"
    assert served.json() == {"a": "b"}
