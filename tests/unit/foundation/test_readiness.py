"""Readiness: a dependency a service can work without degrades it, any other makes it unready."""

from __future__ import annotations

import asyncio
import threading

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from shared.healthcheck import main as healthcheck_main
from shared.healthcheck import readiness_error
from shared.probes import install_health
from shared.testing import free_port


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


async def hangs() -> None:
    await asyncio.Event().wait()  # a store that never answers (server selection pending)


async def test_a_dependency_that_does_not_answer_is_named_within_its_own_timeout() -> None:
    app = FastAPI()
    install_health(app, {"store": hangs, "broker": ok}, check_timeout_s=0.2)
    response = await readyz(app)
    assert response.status_code == 503
    assert response.json()["checks"] == {
        "store": "unavailable: no answer within 0.2 s",
        "broker": "ok",
    }


async def test_the_checks_run_together() -> None:
    """The store's check finishes only once the broker's has started: one after the
    other, the store's would time out."""
    broker_asked = asyncio.Event()

    async def store() -> None:
        await broker_asked.wait()

    async def broker() -> None:
        broker_asked.set()

    app = FastAPI()
    install_health(app, {"store": store, "broker": broker}, check_timeout_s=5)
    response = await asyncio.wait_for(readyz(app), timeout=2)
    assert response.json()["checks"] == {"store": "ok", "broker": "ok"}


def test_the_container_health_check_says_which_dependency_failed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = FastAPI()
    install_health(app, {"store": hangs, "broker": ok}, check_timeout_s=0.2)
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(500):  # bounded: until the server listens
            if server.started:
                break
            threading.Event().wait(0.01)
        monkeypatch.setenv("LT_ROUTING_PORT", str(port))
        error = readiness_error("routing")
        assert error == "store unavailable: no answer within 0.2 s"
    finally:
        server.should_exit = True
        thread.join(timeout=5)


@pytest.mark.parametrize(
    ("argv", "status", "said"),
    [
        (["--help"], 0, "usage: python -m shared.healthcheck [-h]"),
        ([], 2, "the following arguments are required: service"),
        (["intak"], 2, "invalid choice: 'intak'"),
    ],
)
def test_the_health_check_answers_help_and_refuses_an_unknown_service(
    argv: list[str], status: int, said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before, each of these ended in a traceback (KeyError, IndexError) and exit 1,
    which a container's health check reads as "not ready", not as a wrong command."""
    with pytest.raises(SystemExit) as exited:
        healthcheck_main(["healthcheck", *argv])
    assert exited.value.code == status
    assert said in " ".join(capsys.readouterr())
