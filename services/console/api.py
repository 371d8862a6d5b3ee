"""The console's JSON API (``/api/...``), read by its pages; thin: gather, shape, answer.

Reads go to the services' HTTP APIs and to Kafka (here: flows, on-time rates, overdue
dossiers, a dossier, health); the dead letters and the two actions (replay, redeliver)
are in ``api_operations``. Every route needs an operator (``console.signin.operator``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import StreamingResponse

from console.config import WATCHED, ConsoleOptions
from console.domain import by_topic, check_dossier_code, flow_diagram
from console.signin import operator, session_caller
from console.sources import KafkaViews, Services, ServiceUnavailable, path_segment
from shared.auth import Unauthenticated
from shared.http import DomainError, NotFound
from shared.time_bounds import AwareBoundedDatetime

# The console's one table: refusal code -> HTTP status (the codes its rules raise; the
# routes' own refusals carry theirs, docs/console.md lists them all).
STATUS: dict[str, int] = {
    "not_a_dossier_code": 422,
    "notification_not_found": 404,
    "not_redeliverable": 409,
}
# Routes that read another service and answer 502 ``service_unavailable`` when it fails.
READS_SERVICES = frozenset(
    {
        "/api/flows",
        "/api/ontime",
        "/api/overdue",
        "/api/dossiers/{code}",  # as OpenAPI names it (the route takes a path)
        "/api/deadletters/replay",
        "/api/notifications/{notification_id}/redeliver",
    }
)
# Refusals of a route beyond the shared answers (dead_letter_not_found, not_redeliverable).
OWN_REFUSALS: dict[str, set[int]] = {
    "/api/deadletters/replay": {404},
    "/api/notifications/{notification_id}/redeliver": {409},
}


def refusal_statuses(path: str, method: str) -> set[int]:
    """What a route can answer beyond the shared layer's statuses (OpenAPI declares it)."""
    return ({502} if path in READS_SERVICES else set()) | OWN_REFUSALS.get(path, set())


# A dossier code as routing takes it (routing answers longer ones 422, which is not "routing
# did not answer"). A "/" is part of the code, not a route below it (the page sends codes as
# typed, encoded: "a/b" asks routing for "a%2Fb", never for "b" under "a").
DossierCode = Annotated[str, Path(min_length=1, max_length=64, description="Dossier code.")]

# The console is an operations tool: every JSON route needs a signed-in operator.
API_PREFIX = "/api"
HEALTH_STREAM = f"{API_PREFIX}/health/stream"  # its answer stays open: not counted in flight
router = APIRouter(prefix=API_PREFIX, tags=["console"], dependencies=[Depends(operator)])


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def kafka_of(request: Request) -> KafkaViews:
    kafka: KafkaViews = request.app.state.kafka_views
    return kafka


def options_of(request: Request) -> ConsoleOptions:
    options: ConsoleOptions = request.app.state.options
    return options


def unavailable(exc: ServiceUnavailable) -> DomainError:
    return DomainError(
        str(exc), code="service_unavailable", status=502, extra={"service": exc.service}
    )


async def _read(services: Services, service: str, path: str, **params: Any) -> Any:
    try:
        return await services.get(service, path, {k: v for k, v in params.items() if v})
    except ServiceUnavailable as exc:
        raise unavailable(exc) from exc


@router.get("/config", summary="What the pages need to know")
async def config(request: Request) -> dict[str, Any]:
    options = options_of(request)
    return {
        "actions_enabled": options.actions_enabled,
        "jaeger_url": options.jaeger_url,
        "audit_url": options.audit_url,
        "refresh_seconds": options.refresh_seconds,
    }


@router.get("/flows", summary="Counts by state, backlog per unit, hand-overs as a diagram")
async def flows(
    request: Request,
    since: AwareBoundedDatetime | None = None,
    until: AwareBoundedDatetime | None = None,
) -> dict[str, Any]:
    # Checked here: routing refuses it 422, which would read as routing not answering.
    # Without until, routing's window ends now.
    if since is not None and since >= (until or datetime.now(UTC)):
        detail = "since must be before until (now, when until is not given)"
        raise DomainError(
            detail,
            code="invalid_request",
            status=422,
            field="query.since",
            extra={"errors": [{"field": "query.since", "code": "bad_window", "message": detail}]},
        )
    view = await _read(services_of(request), "routing", "/v1/flows", since=since, until=until)
    return {**view, "diagram": flow_diagram(view["transfers"]["between_levels"])}


@router.get("/ontime", summary="On-time rate per unit and procedure per month, apologies")
async def ontime(
    request: Request, months: Annotated[int, Query(ge=1, le=24)] = 6
) -> dict[str, Any]:
    result: dict[str, Any] = await _read(
        services_of(request), "routing", "/v1/ontime", months=months
    )
    return result


@router.get("/overdue", summary="Late and nearly late dossiers, who holds them, how long")
async def overdue(request: Request) -> dict[str, Any]:
    result: dict[str, Any] = await _read(services_of(request), "routing", "/v1/overdue")
    return result


@router.get("/dossiers/{code:path}", summary="A dossier: where it is, its trail, receipts, trace")
async def dossier(request: Request, code: DossierCode) -> dict[str, Any]:
    """No link to the dossier's audit evidence: audit serves it to auditors only, with
    their own bearer token, and a page of the console has neither (docs/console.md,
    "Audit evidence")."""
    check_dossier_code(code)
    services, options = services_of(request), options_of(request)
    dossier_path = f"/v1/dossiers/{path_segment(code)}"
    audit_path = f"/v1/audit/dossiers/{path_segment(code)}"
    try:
        view, trail = await asyncio.gather(
            _read(services, "routing", dossier_path),
            _read(services, "routing", f"{dossier_path}/trail"),
        )
    except NotFound as exc:
        raise NotFound(f"no dossier {code}", code="dossier_not_found", field="code") from exc
    try:
        audit = await services.get("audit", audit_path)
        receipts = audit.get("receipts", [])
    except (ServiceUnavailable, NotFound):
        receipts = []
    try:
        notified = await services.get("notification", "/v1/notifications", {"dossier": code})
    except (ServiceUnavailable, NotFound):
        notified = {"items": []}
    return {
        "dossier": view,
        "trail": trail,
        "audit_receipts": receipts,
        "notifications": notified.get("items", []),
        "links": {"trace": _trace_link(options, code)},
    }


def _trace_link(options: ConsoleOptions, code: str) -> str | None:
    """The dossier's traces in Jaeger's search, the code inside an encoded query."""
    if not options.jaeger_url:
        return None
    tags = json.dumps({"dossier.code": code}, separators=(",", ":"))
    return (
        f"{options.jaeger_url.rstrip('/')}/search?{urlencode({'service': 'intake', 'tags': tags})}"
    )


async def _health(request: Request) -> dict[str, Any]:
    services, kafka = services_of(request), kafka_of(request)
    readiness, outboxes, lag, letters = await asyncio.gather(
        services.all_readiness(),
        asyncio.gather(*(services.outbox(s) for s in WATCHED)),
        kafka.lag(),
        kafka.dead_letters(),
    )
    return {
        "at": datetime.now().astimezone().isoformat(),
        "services": [
            {**ready, "outbox": asdict(outbox) if outbox else None}
            for ready, outbox in zip(readiness, outboxes, strict=True)
        ],
        "lag": [asdict(row) for row in lag],
        "dead_letters": by_topic(letters),
    }


@router.get("/health", summary="Readiness, consumer lag, outbox backlog, dead letters")
async def health(request: Request) -> dict[str, Any]:
    return await _health(request)


@router.get(HEALTH_STREAM.removeprefix(API_PREFIX), summary="The health view as server-sent events")
async def health_stream(request: Request) -> StreamingResponse:
    """Live for a signed-in operator's session (the cookie rides along, unlike a bearer
    token): each event first checks the session still stands, refreshing its token."""
    interval = options_of(request).refresh_seconds
    by_session = getattr(request.state, "session", None) is not None

    async def events() -> AsyncIterator[str]:
        while not await request.is_disconnected():
            if by_session:
                try:
                    await session_caller(request)
                except Unauthenticated:
                    yield "event: signedout\ndata: {}\n\n"
                    return
            try:
                body = await _health(request)
            except Exception as exc:  # shown on the page; the stream goes on
                body = {"error": f"{type(exc).__name__}: {exc}"}
            yield f"event: health\ndata: {json.dumps(body, default=str)}\n\n"
            await asyncio.sleep(interval)

    return StreamingResponse(events(), media_type="text/event-stream")
