"""The unit actions over HTTP: each builds the same command contract that agency systems
send on the commands topic and runs it through the same handler (``execute_command``)
in one transaction (``act``); ``add_actions`` makes one POST route per action. A
refusal changes nothing and answers with ``application/problem+json`` carrying the
machine code. An optional ``Idempotency-Key`` header makes a retried request act once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from hashlib import sha256

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from routing.api_access import (
    Caller,
    DossierCode,
    IdempotencyKey,
    readable_dossier,
    routing_of,
    successor_rule,
)
from routing.domain.model import Decision
from routing.domain.state_machine import ActionRefused, RefusalCode
from routing.handlers import execute_command
from routing.store import Loaded, StaleDossier
from routing.views import DossierView, dossier_view
from shared.app import runtime_of
from shared.auth import Forbidden, Principal, Role, acting_unit
from shared.catalogue.model import UNIT_CODE_PATTERN
from shared.events.commands import MissingDocument, UnitCommand
from shared.events.dossier import BroughtDocument, StepOutcome
from shared.events.registry import make_envelope
from shared.http import Conflict, DomainError
from shared.idempotency import checked_key, key_reused, request_fingerprint
from shared.mongo.inbox import AlreadyProcessed
from shared.refusals import Refused
from shared.text import CleanText
from shared.unit_of_work import UnitOfWork

HTTP_SOURCE = "/lienthong/routing/http"
HTTP_CONSUMER = "routing-http"  # inbox name for Idempotency-Key replays
STALE_RETRIES = 3


class ActingUnit(CleanText):
    """Who acts. The unit is the caller's, from its token; a body naming another unit is
    refused with 403 ``wrong_unit`` (a successor may name a unit it took over).

    A field the action does not know is refused (422 ``invalid_request``), as the command
    contract refuses it on the topic: dropped silently, a misspelt optional field
    (``notes``, ``actr``, ``methd``) would act without what the caller meant to say."""

    model_config = ConfigDict(extra="forbid")

    unit: str | None = Field(
        None, pattern=UNIT_CODE_PATTERN, description="The acting unit's code (optional)."
    )
    actor: str | None = Field(
        None,
        max_length=200,
        description="The officer acting, named by an agency system; a person's token acts "
        "as that person (another name: 403 wrong_actor). Default: the caller's user name.",
    )


class Refusal(ActingUnit):
    reason: str = Field(min_length=1, max_length=2000)


class Completion(ActingUnit):
    outcome: StepOutcome
    note: str | None = Field(
        None,
        max_length=2000,
        description="Required with reject: the reason the applicant is told (else 422 "
        "`reason_required`, field `note`); with needs_supplement, the supplement's reason.",
    )
    missing_documents: list[MissingDocument] = Field(
        default_factory=list, max_length=50, description="Required with needs_supplement."
    )


class SupplementRequest(ActingUnit):
    missing_documents: list[MissingDocument] = Field(min_length=1, max_length=50)
    reason: str = Field(min_length=1, max_length=2000)


class Supplement(ActingUnit):
    documents: list[BroughtDocument] = Field(min_length=1, max_length=50)


class ResultNote(ActingUnit):
    note: str | None = Field(None, max_length=2000)


class ActionResult(BaseModel):
    """The dossier after the action and the facts it produced, in order."""

    dossier: DossierView
    events: list[str]
    replayed: bool = False


async def act(
    request: Request,
    command: UnitCommand,
    key: str | None,
    fingerprint: str | None = None,
    reused: Callable[[], Refused] = key_reused,
) -> ActionResult:
    """Run one command through the shared handler; map refusals to problems.

    With a ``key``, a repeat of the same request (``fingerprint``, by default the
    command's) is answered ``replayed``; another request under it is refused with
    ``reused()`` (by default 409 ``idempotency_key_reused`` naming the header).

    It decides on the copy of the dossier this process kept after its last write, if
    any (``routing.recent``): an attempt that finds that copy stale runs again on a
    fresh read and is not counted among the ``STALE_RETRIES``."""
    runtime, routing = runtime_of(request.app), routing_of(request)
    envelope = make_envelope(command, source=HTTP_SOURCE, event_id=key, time=routing.clock.now())
    code = command.dossier_code
    fingerprint = fingerprint or request_fingerprint(envelope.type, envelope.data)

    async def work(uow: UnitOfWork) -> tuple[Loaded, Decision]:
        if key is not None:
            await runtime.inbox.claim(
                HTTP_CONSUMER, envelope, uow.session, uow.now, fingerprint=fingerprint
            )
        return await execute_command(command, uow, routing=routing, recent=True)

    stale = 0  # attempts given up on a fresh read
    for _ in range(2 * STALE_RETRIES):  # a bound, in case others keep a copy every time
        kept = routing.recent.holds(code)
        try:
            saved, decision = await runtime.run_unit_of_work(work, envelope, grouped=True)
        except StaleDossier:
            routing.recent.forget(code)
            stale += 0 if kept else 1
            if stale == STALE_RETRIES:
                break
            continue
        except AlreadyProcessed:
            # A retry is the same request again, on a dossier that must still exist.
            first = await runtime.inbox.first_use(HTTP_CONSUMER, envelope.id)
            retry = first is not None and first.is_retry(envelope, fingerprint)
            current = await routing.store.get(code) if retry else None
            if current is None:
                raise reused() from None
            return ActionResult(dossier=dossier_view(current), events=[], replayed=True)
        routing.recent.keep(saved)  # committed: the next action on it may skip its read
        events = [f.EVENT_TYPE for f in decision.facts]
        return ActionResult(dossier=dossier_view(saved.dossier), events=events)
    raise Conflict("the dossier kept changing; try again", code="concurrent_update")


def command(
    model: type[UnitCommand], code: str, body: ActingUnit, request: Request, caller: Principal
) -> UnitCommand:
    """The command contract for an HTTP action (the same one the topic carries), acting
    as the caller's unit."""
    unit = acting_unit(caller, body.unit, successor_rule(routing_of(request)))
    fields = {**body.model_dump(), "unit": unit, "actor": acting_person(caller, body.actor)}
    try:
        return model(dossier_code=code, **fields)
    except ValidationError as exc:
        error = exc.errors()[0]
        # The command's fields are the body's (the dossier code is the path's ``code``).
        field = ".".join(str(part) for part in error["loc"]) or None
        field = "code" if field == "dossier_code" else field
        raise DomainError(
            str(error["msg"]), code="invalid_request", status=422, field=field
        ) from exc


def acting_person(caller: Principal, named: str | None) -> str:
    """Who the records name as acting. A person acts as themselves: a body naming someone
    else is refused. An agency system is one client for a whole office, so it names the
    officer at its end (else itself), and answers for that name."""
    if Role.AGENCY in caller.roles:
        return named or caller.name
    if named is not None and named != caller.name:
        raise Forbidden(
            f"the caller is {caller.name} and acts as itself, not as {named}",
            code="wrong_actor",
            field="actor",
        )
    return caller.name


def caller_key(caller: Principal, key: str) -> str:
    """The inbox id of a caller's Idempotency-Key: keys are the caller's own, so one
    caller's key can neither replay another's request nor take a key another will use
    (a gateway's callback key, say)."""
    return "key:" + sha256(f"{caller.subject}\n{key}".encode()).hexdigest()


@dataclass(frozen=True)
class Action:
    """One unit action over HTTP: its path, the command it sends and the body it takes."""

    path: str  # under /v1/dossiers/{code}/
    name: str  # the route's name, and so its OpenAPI operation id
    command: type[UnitCommand]
    body: type[ActingUnit]
    summary: str
    description: str | None = None


def add_actions(router: APIRouter, *actions: Action) -> None:
    """One POST route per action, each running its command through ``act``."""
    for action in actions:
        router.add_api_route(
            f"/dossiers/{{code}}/{action.path}",
            action_endpoint(action),
            methods=["POST"],
            name=action.name,
            summary=action.summary,
            description=action.description,
        )


def action_endpoint(action: Action) -> Callable[..., Awaitable[ActionResult]]:
    async def endpoint(  # no docstring: OpenAPI would take it for the description
        request: Request,
        caller: Caller,
        code: DossierCode,
        body: ActingUnit,
        idempotency_key: IdempotencyKey = None,
    ) -> ActionResult:
        cmd = command(action.command, code, body, request, caller)
        key = checked_key(idempotency_key)
        try:
            return await act(request, cmd, None if key is None else caller_key(caller, key))
        except ActionRefused as refusal:
            if refusal.code != RefusalCode.UNKNOWN_DOSSIER:
                # A dossier of other units is answered as unknown: its state stays private.
                await readable_dossier(routing_of(request), code, caller)
            raise

    # FastAPI validates the body against the annotated model: this action's own.
    endpoint.__annotations__ = {**endpoint.__annotations__, "body": action.body}
    return endpoint
