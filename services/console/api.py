"""The console's JSON API (``/api/...``), read by its pages; thin: gather, shape, answer.

Reads go to the services' HTTP APIs and to Kafka; the two actions (replay, redeliver)
are recorded as the signed-in operator, and refused with 403 ``actions_disabled`` while
the console is read-only. Every route needs an operator (``console.signin.operator``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from console import handlers, redeliveries
from console.actions import Operations
from console.config import WATCHED, ConsoleOptions
from console.domain import LetterFilter, by_topic, flow_diagram, letter_message
from console.signin import operator, session_caller
from console.sources import KafkaViews, Services, ServiceUnavailable, path_segment
from shared.auth import Principal, Unauthenticated
from shared.http import DomainError, NotFound
from shared.kafka.deadletter import DeadLetter
from shared.time_bounds import AwareBoundedDatetime
from shared.topics import personal_data_of

# The console's one table: refusal code -> HTTP status (the codes its rules raise; the
# routes' own refusals carry theirs, docs/console.md lists them all).
STATUS: dict[str, int] = {
    "notification_not_found": 404,
    "not_redeliverable": 409,
}
# Routes that read another service and answer 502 ``service_unavailable`` when it fails.
READS_SERVICES = frozenset(
    {
        "/api/flows",
        "/api/ontime",
        "/api/overdue",
        "/api/dossiers/{code}",
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


# The console is an operations tool: every JSON route needs a signed-in operator.
API_PREFIX = "/api"
HEALTH_STREAM = f"{API_PREFIX}/health/stream"  # its answer stays open: not counted in flight
router = APIRouter(prefix=API_PREFIX, tags=["console"], dependencies=[Depends(operator)])
Operator = Annotated[Principal, Depends(operator)]


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def _kafka(request: Request) -> KafkaViews:
    kafka: KafkaViews = request.app.state.kafka_views
    return kafka


def _options(request: Request) -> ConsoleOptions:
    options: ConsoleOptions = request.app.state.options
    return options


def _ops(request: Request) -> Operations:
    if not _options(request).actions_enabled:
        raise DomainError(
            "the console is read-only here (LT_CONSOLE_ACTIONS_ENABLED is off)",
            code="actions_disabled",
            status=403,
        )
    ops: Operations = request.app.state.operations
    return ops


def _unavailable(exc: ServiceUnavailable) -> DomainError:
    return DomainError(
        str(exc), code="service_unavailable", status=502, extra={"service": exc.service}
    )


async def _read(services: Services, service: str, path: str, **params: Any) -> Any:
    try:
        return await services.get(service, path, {k: v for k, v in params.items() if v})
    except ServiceUnavailable as exc:
        raise _unavailable(exc) from exc


@router.get("/config", summary="What the pages need to know")
async def config(request: Request) -> dict[str, Any]:
    options = _options(request)
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
    view = await _read(_services(request), "routing", "/v1/flows", since=since, until=until)
    return {**view, "diagram": flow_diagram(view["transfers"]["between_levels"])}


@router.get("/ontime", summary="On-time rate per unit and procedure per month, apologies")
async def ontime(
    request: Request, months: Annotated[int, Query(ge=1, le=24)] = 6
) -> dict[str, Any]:
    result: dict[str, Any] = await _read(_services(request), "routing", "/v1/ontime", months=months)
    return result


@router.get("/overdue", summary="Late and nearly late dossiers, who holds them, how long")
async def overdue(request: Request) -> dict[str, Any]:
    result: dict[str, Any] = await _read(_services(request), "routing", "/v1/overdue")
    return result


@router.get("/dossiers/{code}", summary="A dossier: where it is, its trail, receipts, trace")
async def dossier(request: Request, code: str) -> dict[str, Any]:
    """No link to the dossier's audit evidence: audit serves it to auditors only, with
    their own bearer token, and a page of the console has neither (docs/console.md,
    "Audit evidence")."""
    services, options = _services(request), _options(request)
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
    services, kafka = _services(request), _kafka(request)
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
    interval = _options(request).refresh_seconds
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


def _letter_view(letter: DeadLetter, topic_prefix: str) -> dict[str, Any]:
    """A dead letter as operators see it: every letter's metadata; its message only when
    its topic carries no personal data (``letter_message``), and then its error without
    the values it may quote (``DeadLetter.shown_error``), in the ``dlq_error`` header too."""
    original = handlers.original_of(letter)
    personal = personal_data_of(topic_prefix, letter.original_topic)
    headers = {k: v.decode(errors="replace") for k, v in letter.headers}
    if "dlq_error" in headers:
        headers["dlq_error"] = letter.shown_error(topic_prefix, headers["dlq_error"])
    return {
        "at": f"{letter.partition}:{letter.offset}",
        "key": letter.key,
        "original_topic": letter.original_topic,
        "original_partition": letter.original_partition,
        "original_offset": letter.original_offset,
        "consumer_group": letter.consumer_group,
        "error": letter.shown_error(topic_prefix),
        "error_kind": letter.error_kind,
        "attempts": letter.attempts,
        "failed_at": letter.failed_at,
        "event_type": original.type if original else None,
        "event_id": original.id if original else None,
        "notification_id": handlers.notification_of(letter),
        **letter_message(letter.value, personal),
        "headers": headers,
    }


@router.get("/deadletters", summary="Dead letters with error, origin and attempts")
async def dead_letters(
    request: Request,
    original_topic: str | None = None,
    error_kind: str | None = None,
    consumer_group: str | None = None,
) -> dict[str, Any]:
    wanted = LetterFilter(original_topic, error_kind, consumer_group)
    letters = [dl for dl in await _kafka(request).dead_letters() if wanted.matches(dl)]
    ops: Operations = request.app.state.operations
    replays = {a.get("dead_letter"): a for a in reversed(await ops.store.recent())}
    return {
        "items": [
            {
                **_letter_view(dl, _kafka(request).topic_prefix),
                "last_action": _action_of(replays.get(f"{dl.partition}:{dl.offset}")),
            }
            for dl in letters
        ]
    }


def _action_of(action: dict[str, Any] | None) -> dict[str, Any] | None:
    """The latest replay of a dead letter, if any (the letter itself stays in Kafka)."""
    if action is None:
        return None
    return {
        k: action.get(k)
        for k in ("action", "operator", "at", "status", "notification_status", "error")
    }


class ReplayRequest(BaseModel):
    """One or more dead letters by position, or every one a filter matches."""

    positions: list[str] = Field(default_factory=list, max_length=1000)
    original_topic: str | None = None
    error_kind: str | None = None
    consumer_group: str | None = None


@router.post("/deadletters/replay", summary="Replay dead letters to their original topic")
async def replay(request: Request, body: ReplayRequest, caller: Operator) -> dict[str, Any]:
    ops = _ops(request)
    wanted = LetterFilter(body.original_topic, body.error_kind, body.consumer_group)
    if not body.positions and wanted.empty():
        raise DomainError("name positions or a filter", code="nothing_selected", field="positions")
    letters = await _kafka(request).dead_letters()
    chosen = [
        dl
        for dl in letters
        if (not body.positions or f"{dl.partition}:{dl.offset}" in body.positions)
        and wanted.matches(dl)
    ]
    missing = set(body.positions) - {f"{dl.partition}:{dl.offset}" for dl in chosen}
    if missing:
        raise NotFound(
            f"no dead letter at {sorted(missing)}", code="dead_letter_not_found", field="positions"
        )
    try:
        return {"replayed": [await handlers.replay_letter(ops, dl, caller) for dl in chosen]}
    except ServiceUnavailable as exc:  # notification, asked about a failed delivery's letter
        raise _unavailable(exc) from exc


class Redelivery(BaseModel):
    """The dossier recorded is the notification's own (a ``dossier_code`` sent is ignored)."""

    reason: str = Field("redelivery asked from the console", min_length=1, max_length=2000)


@router.post("/notifications/{notification_id}/redeliver", summary="Send a failed one again")
async def redeliver(
    request: Request, notification_id: str, body: Redelivery, caller: Operator
) -> dict[str, Any]:
    """Refused with 404 ``notification_not_found`` or 409 ``not_redeliverable`` (its
    ``notification_status`` said) before anything is recorded; else recorded, audited
    and answered ``requested``: ``GET /api/actions`` follows what notification made of it."""
    ops = _ops(request)
    try:
        return await redeliveries.redeliver(ops, notification_id, body.reason, caller)
    except ServiceUnavailable as exc:
        raise _unavailable(exc) from exc


@router.get("/actions", summary="Replays and redeliveries: who, when, what, with what outcome")
async def actions(request: Request) -> dict[str, Any]:
    """The latest actions; a redelivery whose outcome is not known yet is read from
    notification first (while actions are enabled: a read-only console shows what was
    last recorded)."""
    ops: Operations = request.app.state.operations
    items = await ops.store.recent()
    if _options(request).actions_enabled:
        open_ = [i for i, item in enumerate(items) if redeliveries.followed(item)]
        found = await asyncio.gather(*(redeliveries.follow_up(ops, items[i]) for i in open_))
        for i, item in zip(open_, found, strict=True):
            items[i] = item
    return {"items": items}
