"""The probes every service answers: ``/healthz`` (liveness), ``/readyz`` (its
dependencies answer, or it runs degraded) and ``/metrics`` (Prometheus, with the
readiness evaluated at each scrape).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from shared.alerting_metrics import READINESS_CHECK, READY
from shared.http import service_of

ReadinessCheck = Callable[[], Awaitable[None]]
READINESS_CHECK_S = 2.0
"""How long each readiness check may take, for /readyz and at each scrape: below the
container health check's 3 s (a dependency that does not answer is named instead of the
whole probe timing out) and well within Prometheus's 10 s scrape timeout."""


def install_health(
    app: FastAPI,
    checks: dict[str, ReadinessCheck],
    degradable: frozenset[str] = frozenset(),
    metrics_dependencies: Sequence[Any] = (),
    service: str | None = None,
    crashed_workers: Callable[[], list[str]] | None = None,
    check_timeout_s: float | None = None,
) -> None:
    """``/healthz`` (the process answers and none of its ``crashed_workers`` crashed, else
    503 naming them), ``/readyz`` (its dependencies answer), ``/metrics`` (with the
    readiness, as ``lt_ready``, evaluated at each scrape).

    The checks run together, each given ``check_timeout_s`` (``READINESS_CHECK_S``): one
    that fails or does not answer in time is reported by name (``"store": "unavailable: no
    answer within 2 s"``).
    A failing check named in ``degradable`` leaves the service ready but ``degraded``
    (e.g. intake takes submissions into its outbox while the broker is away) and is
    named in ``degraded``; any other failing check makes it not ready (503). ``service``
    labels the readiness metrics (default: the running service's runtime's name).
    """

    @app.get("/readyz", tags=["operations"], summary="Readiness: broker and store reachable")
    async def readyz() -> JSONResponse:
        results = await readiness(checks, check_timeout_s)
        failing = [name for name, result in results.items() if result != "ok"]
        degraded = [name for name in failing if name in degradable]
        ready = len(degraded) == len(failing)
        status = "not_ready" if not ready else "degraded" if degraded else "ready"
        body: dict[str, object] = {"status": status, "checks": results}
        if degraded:
            body["degraded"] = degraded
        return JSONResponse(body, status_code=200 if ready else 503)

    @app.get("/healthz", tags=["operations"], summary="Liveness")
    async def healthz() -> JSONResponse:
        crashed = crashed_workers() if crashed_workers is not None else []
        if crashed:  # the process answers but no longer does all its work: restart it
            return JSONResponse({"status": "failed", "crashed": crashed}, status_code=503)
        return JSONResponse({"status": "ok"})

    @app.get(
        "/metrics",
        tags=["operations"],
        summary="Prometheus metrics",
        dependencies=list(metrics_dependencies),
    )
    async def metrics(request: Request) -> Response:
        service_name = service or service_of(request.scope)
        await report_readiness(service_name, checks, degradable, check_timeout_s)
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


async def readiness(
    checks: Mapping[str, ReadinessCheck], timeout_s: float | None = None
) -> dict[str, str]:
    """Each check's outcome, "ok" or why not; run at once, each within ``timeout_s``
    (default ``READINESS_CHECK_S``, read at each call)."""
    timeout_s = READINESS_CHECK_S if timeout_s is None else timeout_s

    async def outcome(check: ReadinessCheck) -> str:
        try:
            await asyncio.wait_for(check(), timeout=timeout_s)
        except TimeoutError:
            return f"unavailable: no answer within {timeout_s:g} s"
        except Exception as exc:  # readiness reports, it does not raise
            return f"unavailable: {type(exc).__name__}"
        return "ok"

    return dict(zip(checks, await asyncio.gather(*map(outcome, checks.values())), strict=True))


async def report_readiness(
    service: str,
    checks: Mapping[str, ReadinessCheck],
    degradable: frozenset[str],
    timeout_s: float | None = None,
) -> None:
    """Set ``lt_ready`` and ``lt_readiness_check`` (what /readyz would answer) for a scrape."""
    outcomes = await readiness(checks, timeout_s)
    results = {name: result == "ok" for name, result in outcomes.items()}
    for name, ok in results.items():
        READINESS_CHECK.labels(service, name).set(1 if ok else 0)
    ready = all(ok or name in degradable for name, ok in results.items())
    READY.labels(service).set(1 if ready else 0)
