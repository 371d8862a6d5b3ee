"""Past its limit of requests in flight a service refuses at once, and says when to retry."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from shared.http import InFlightLimit, install_error_handlers
from shared.telemetry.metrics import HTTP_SHED


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

    refused = await client.post("/slow")

    assert refused.status_code == 503
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.headers["retry-after"] == "1"
    assert refused.json()["code"] == "overloaded"
    assert HTTP_SHED.labels("")._value.get() == shed_before + 1
    gate.open.set()
    assert [r.status_code for r in await asyncio.gather(*held)] == [200, 200]


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
