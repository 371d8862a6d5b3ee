"""Routing's handlers: dossier facts from intake, and unit commands from the topic or HTTP.

Each handler loads the dossier, asks the domain to decide, and stores the new dossier
with its facts in the outbox, all in the caller's transaction. Commands from the topic
and from HTTP run through the same ``execute_command``; a refusal raises
``ActionRefused`` before anything is written. On the topic that refusal becomes a
``dossier.command.refused.v1`` written in the command's own transaction (so it is
recorded exactly once, with the inbox record); over HTTP it becomes a problem response.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from routing.config import RoutingOptions
from routing.domain.closing import decide_withdraw
from routing.domain.model import Context, Decision, Dossier
from routing.domain.route import resolve_route
from routing.domain.state_machine import ActionRefused, RefusalCode
from routing.domain.trail import recorded
from routing.domain.workflow import decide_command, decide_start
from routing.store import DossierStore
from shared.calendar import WorkingCalendar
from shared.catalogue import Catalogue, CatalogueLookupError
from shared.clock import Clock
from shared.envelope import Envelope, MalformedMessage
from shared.events.commands import UnitCommand
from shared.events.dossier import (
    CommandRefused,
    DossierFact,
    DossierReceived,
    DossierReceivedV1,
    DossierWithdrawn,
)
from shared.events.registry import REGISTRY, EventData, make_envelope
from shared.kafka.consumer import Handler
from shared.mongo.client import Session
from shared.mongo.outbox import Outbox

log = logging.getLogger(__name__)
SOURCE = "/lienthong/routing"
COMMAND_TYPES = [t for t, model in REGISTRY.items() if issubclass(model, UnitCommand)]


@dataclass(frozen=True)
class Routing:
    """Routing's dependencies, bound once in ``main``."""

    store: DossierStore
    outbox: Outbox
    calendar: WorkingCalendar
    catalogue: Catalogue
    clock: Clock
    options: RoutingOptions

    def context(self, cause_id: str, now: datetime | None = None) -> Context:
        """A decision context at ``now`` (default: the clock's current time)."""
        return Context(self.calendar, self.catalogue, now or self.clock.now(), cause_id)

    def level_of(self, unit: str) -> str:
        try:
            return self.catalogue.unit(unit).level
        except CatalogueLookupError:
            return "unknown"

    async def emit(
        self,
        d: Dossier,
        facts: tuple[DossierFact, ...],
        cause: Envelope | None,
        session: Session,
        now: datetime,
    ) -> None:
        """Queue facts in the outbox, in order, correlated with the dossier's flow."""
        for fact in facts:
            event = make_envelope(
                fact,
                source=SOURCE,
                cause=cause,
                correlationid=d.correlation_id or None,
                time=now,
            )
            await self.outbox.add(event, session, now)

    async def save(
        self, decision: Decision, read: Dossier, session: Session, now: datetime
    ) -> Dossier:
        """Store the decided dossier over the one read (``StaleDossier`` if it changed)."""
        return await self.store.save(
            decision.dossier, read=read, session=session, now=now, level_of=self.level_of
        )


async def on_dossier_received(
    envelope: Envelope, data: EventData, session: Session, *, routing: Routing
) -> None:
    """Plan the route and start step 0 at the receiving desk (a repeat changes nothing)."""
    assert isinstance(data, DossierReceived)
    if await routing.store.get(data.dossier_code, session) is not None:
        log.info("dossier already routed", extra={"dossier": data.dossier_code})
        return
    on = routing.calendar.local_date(data.received_at)
    # A route that cannot be resolved is a catalogue problem: raise, so it is dead-lettered
    # with the reason and can be replayed once the data is fixed.
    route = resolve_route(routing.catalogue, data.procedure_code, data.receiving_unit, on)
    ctx = routing.context(envelope.id)
    procedure = routing.catalogue.procedure(data.procedure_code)
    decision = recorded(decide_start(data, route, procedure, ctx), ctx, actor="routing")
    decision.dossier.correlation_id = envelope.correlationid
    await routing.store.insert(decision.dossier, session, ctx.now)
    await routing.emit(decision.dossier, decision.facts, envelope, session, ctx.now)


async def on_dossier_withdrawn(
    envelope: Envelope, data: EventData, session: Session, *, routing: Routing
) -> None:
    """The applicant withdrew: no more actions, no overdue (a closed dossier stays closed)."""
    assert isinstance(data, DossierWithdrawn)
    d = await routing.store.get(data.dossier_code, session)
    if d is None:
        log.info("withdrawal of a dossier routing never saw", extra={"dossier": data.dossier_code})
        return
    ctx = routing.context(envelope.id)
    try:
        decision = decide_withdraw(d, data, ctx)
    except ActionRefused as refusal:
        log.info("withdrawal ignored", extra={"dossier": d.code, "reason": refusal.reason})
        return
    recorded(decision, ctx, actor="applicant", cause_type=envelope.type)
    await routing.save(decision, d, session, ctx.now)


async def execute_command(
    command: UnitCommand, cause: Envelope, session: Session, *, routing: Routing
) -> tuple[Dossier, Decision]:
    """Apply a unit command; raises ``ActionRefused`` (nothing written) when refused."""
    d = await routing.store.get(command.dossier_code, session)
    if d is None:
        raise ActionRefused(
            RefusalCode.UNKNOWN_DOSSIER, f"routing knows no dossier {command.dossier_code}"
        )
    ctx = routing.context(cause.id)
    decision = decide_command(d, command, ctx)
    recorded(decision, ctx, actor=command.actor, command_id=cause.id)
    saved = await routing.save(decision, d, session, ctx.now)
    await routing.emit(saved, decision.facts, cause, session, ctx.now)
    return saved, decision


async def on_command(
    envelope: Envelope, data: EventData, session: Session, *, routing: Routing
) -> None:
    """A command from the topic: its facts, or a refusal event naming it; never silence."""
    assert isinstance(data, UnitCommand)
    try:
        await execute_command(data, envelope, session, routing=routing)
    except ActionRefused as refusal:
        now = routing.clock.now()
        refused = CommandRefused(
            dossier_code=data.dossier_code,
            command_id=envelope.id,
            command_type=envelope.type,
            unit=data.unit,
            code=refusal.code.value,
            reason=refusal.reason,
            refused_at=now,
        )
        event = make_envelope(refused, source=SOURCE, cause=envelope, time=now)
        await routing.outbox.add(event, session, now)
        log.info(
            "command refused",
            extra={
                "command_id": envelope.id,
                "code": refusal.code.value,
                "dossier": data.dossier_code,
            },
        )


async def on_invalid_command(
    envelope: Envelope, error: MalformedMessage, session: Session, *, routing: Routing
) -> None:
    """A command whose type or fields break the contract: refused with an event, not dropped."""
    now = routing.clock.now()
    unit = envelope.data.get("unit")
    refused = CommandRefused(
        dossier_code=envelope.subject,
        command_id=envelope.id,
        command_type=envelope.type,
        unit=unit if isinstance(unit, str) and 0 < len(unit) <= 64 else None,
        code=RefusalCode.INVALID_COMMAND.value,
        reason=error.reason,
        refused_at=now,
    )
    await routing.outbox.add(
        make_envelope(refused, source=SOURCE, cause=envelope, time=now), session, now
    )
    log.info("invalid command refused", extra={"command_id": envelope.id, "type": envelope.type})


def build_handlers(routing: Routing) -> dict[str, Handler]:
    """The mapping from event and command type to handler, with dependencies bound."""
    handlers: dict[str, Handler] = {
        DossierReceived.EVENT_TYPE: partial(on_dossier_received, routing=routing),
        DossierReceivedV1.EVENT_TYPE: partial(on_dossier_received, routing=routing),  # old ones
        DossierWithdrawn.EVENT_TYPE: partial(on_dossier_withdrawn, routing=routing),
    }
    for command_type in COMMAND_TYPES:
        handlers[command_type] = partial(on_command, routing=routing)
    return handlers
