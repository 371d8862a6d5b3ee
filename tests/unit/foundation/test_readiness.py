"""Readiness: a dependency a service can work without degrades it, any other makes it unready."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from shared.http import install_health


async def ok() -> None:
    return None


async def down() -> None:
    raise ConnectionError("no broker metadata")


async def readyz(app: FastAPI) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.get("/readyz")


async def test_a_degradable_dependency_down_leaves_the_service_ready_and_names_it() -> None:
    app = FastAPI()
    install_health(app, {"store": ok, "broker": down}, degradable=frozenset({"broker"}))
    response = await readyz(app)
    assert response.status_code == 200
    assert response.json() == {
        "status": "degraded",
        "checks": {"store": "ok", "broker": "unavailable: ConnectionError"},
        "degraded": ["broker"],
    }


async def test_a_required_dependency_down_makes_the_service_not_ready() -> None:
    app = FastAPI()
    install_health(app, {"store": down, "broker": ok}, degradable=frozenset({"broker"}))
    response = await readyz(app)
    assert response.status_code == 503
    assert response.json()["status"] == "not_ready"
    assert "degraded" not in response.json()


async def test_everything_up_is_ready() -> None:
    app = FastAPI()
    install_health(app, {"store": ok, "broker": ok})
    response = await readyz(app)
    assert (response.status_code, response.json()["status"]) == (200, "ready")
