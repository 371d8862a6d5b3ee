"""Routing's handlers: dossier facts from intake, and unit commands from the topic or HTTP.

Each handler loads the dossier, asks the domain to decide, and stores the new dossier
and emits its facts through the caller's unit of work (one transaction). Commands from
the topic and from HTTP run through the same ``execute_command``; a refusal raises
``ActionRefused`` before anything is written. On the topic that refusal becomes a
``dossier.command.refused.v1`` emitted in the command's own unit of work (so it is
recorded exactly once, with the inbox record); over HTTP it becomes a problem response.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from pydantic import ValidationError

from routing.config import RoutingOptions
from routing.domain.audience import dossier_audience, refusal_audience, withdrawal_missed_by
from routing.domain.closing import (
    EarlyWithdrawal,
    decide_early_withdrawals,
    decide_withdraw,
    decide_withdrawal_declined,
    decide_withdrawal_request,
)
from routing.domain.model import Context, Decision, Dossier
from routing.domain.route import acts_for, resolve_route
from routing.domain.state_machine import ActionRefused, RefusalCode
from routing.domain.trail import recorded
from routing.domain.workflow import decide_command, decide_start
from routing.journeys import action_span, current_journey, journey_context
from routing.recent import RecentDossiers
from routing.store import DossierStore, Loaded, StaleDossier, unit_level
from shared.calendar import WorkingCalendar
from shared.catalogue.configuration import Catalogue
from shared.clock import Clock
from shared.envelope import Envelope, MalformedMessage
from shared.events.commands import CommandRefused, UnitCommand
from shared.events.reception import DossierReceived, DossierReceivedV1
from shared.events.registry import REGISTRY
from shared.events.withdrawal import DossierWithdrawn, WithdrawalRequested
from shared.handlers import HandlerRegistry
from shared.topics import DOSSIER_COMMANDS, agency_commands
from shared.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)
Received = DossierReceived | DossierReceivedV1
COMMAND_MODELS: list[type[UnitCommand]] = [
    model for model in REGISTRY.values() if issubclass(model, UnitCommand)
]


@dataclass(frozen=True)
class Routing:
    """Routing's dependencies, bound once in ``main``."""

    store: DossierStore
    calendar: WorkingCalendar
    catalogue: Catalogue
    clock: Clock
    options: RoutingOptions
    recent: RecentDossiers = field(default_factory=lambda: RecentDossiers(0))

    def context(self, cause_id: str, now: datetime | None = None) -> Context:
        """A decision context at ``now`` (default: the clock's current time)."""
        return Context(self.calendar, self.catalogue, now or self.clock.now(), cause_id)

    def level_of(self, unit: str) -> str:
        return unit_level(self.catalogue, unit)

    async def save(
        self,
        decision: Decision,
        read: Dossier,
        uow: UnitOfWork,
        now: datetime,
        forward_to: tuple[str, ...] = (),
    ) -> Dossier:
        """Store the decided dossier over the one read (``StaleDossier`` if it changed)
        and emit its facts, numbered by the same write; a copy kept of it is forgotten
        (kept again by an HTTP action once committed). ``forward_to``: units whose feeds
        get a copy of the cause itself (``UnitOfWork.forward``), numbered with the facts."""
        self.recent.forget(read.code)
        count = own_facts(decision) + (1 if forward_to else 0)
        saved, numbers = await self.store.save(
            decision.dossier, read=read, session=uow.session, now=now, facts=count
        )
        uow.numbered(saved.code, numbers)
        emit_facts(uow, saved, decision, read)
        if forward_to:
            uow.forward(uow.envelope, forward_to)
        return saved


def own_facts(decision: Decision) -> int:
    """How many of the decision's facts are about its dossier (numbered in its sequence)."""
    code = decision.dossier.code
    return sum(1 for fact in decision.facts if fact.subject() == code)


def emit_facts(
    uow: UnitOfWork, d: Dossier, decision: Decision, read: Dossier | None = None
) -> None:
    """Queue the decision's facts, in order, correlated with the dossier's flow, for the
    feeds of the units on its way (``routing.domain.audience``); ``read``: the dossier
    the decision was taken on (None for a new one)."""
    uow.emit(
        *decision.facts,
        correlation_id=d.correlation_id or None,
        audience=dossier_audience(decision.dossier, read),
    )


async def on_dossiers_received(
    events: list[tuple[Envelope, Received]],
    uow: UnitOfWork,
    *,
    routing: Routing,
) -> None:
    """Plan each new dossier's route and start step 0 at the receiving desk (a repeat
    changes nothing). A fetched batch's dossiers cost one read (those routed already)
    and one insert, whatever their number: the consumer's round trips are sequential,
    and a loaded store makes each of them wait. One more read finds the withdrawal
    requests kept for them (they came first): each is taken as the route is planned."""
    codes = [data.dossier_code for _, data in events]
    routed = await routing.store.routed_among(codes, uow.session)
    fresh = [code for code in codes if code not in routed]
    early = await routing.store.early_withdrawals_of(fresh, uow.session) if fresh else {}
    planned: list[tuple[Loaded, int]] = []
    for envelope, data in events:
        if data.dossier_code in routed:
            log.info("dossier already routed", extra={"dossier": data.dossier_code})
            continue
        routed.add(data.dossier_code)
        kept = early.get(data.dossier_code, [])
        with uow.in_span_of(envelope):  # the journey is the received event's trace
            planned.append(plan_route(data, uow.caused_by(envelope), routing, kept))
    for code, numbers in (await routing.store.insert_all(planned, uow.session, uow.now)).items():
        uow.numbered(code, numbers)
    taken = [k.cause_id for kept in early.values() for k in kept]
    await routing.store.forget_early_withdrawals(taken, uow.session)
    for dossier, _ in planned:
        # Once committed, the first unit action on it decides on this copy (routing.recent).
        uow.after_commit(partial(routing.recent.keep, dossier))


def plan_route(
    data: Received, uow: UnitOfWork, routing: Routing, early: list[EarlyWithdrawal] | None = None
) -> tuple[Loaded, int]:
    """The dossier with its route planned and its journey (the current trace), and how
    many facts about it were emitted in ``uow``, whose cause is the received event.
    ``early``: withdrawal requests kept for it, taken right after the planning."""
    on = routing.calendar.local_date(data.received_at)
    # A route that cannot be resolved is a catalogue problem: raise, so it is dead-lettered
    # with the reason and can be replayed once the data is fixed.
    route = resolve_route(
        routing.catalogue, data.procedure_code, data.receiving_unit, on, data.area_unit
    )
    ctx = routing.context(uow.envelope.id, uow.now)
    procedure = routing.catalogue.procedure(data.procedure_code)
    decision = recorded(decide_start(data, route, procedure, ctx), ctx, actor="routing")
    if early:
        log.info("early withdrawal request taken", extra={"dossier": data.dossier_code})
        decision = decide_early_withdrawals(
            decision, early, lambda kept: routing.context(kept.cause_id, uow.now)
        )
    decision.dossier.correlation_id = uow.envelope.correlationid
    emit_facts(uow, decision.dossier, decision)
    return Loaded(decision.dossier, current_journey()), own_facts(decision)


async def on_dossier_withdrawn(
    data: DossierWithdrawn | WithdrawalRequested, uow: UnitOfWork, *, routing: Routing
) -> None:
    """The applicant withdrew, or asked to (the holder then stops it); a closed dossier stays
    closed."""
    d = await routing.store.get(data.dossier_code, uow.session)
    if d is None and isinstance(data, WithdrawalRequested):
        # Its reception has not reached routing yet (dead-lettered and replayed later, or
        # simply later): kept with the inbox record, taken when the reception comes.
        log.info("withdrawal request kept until reception", extra={"dossier": data.dossier_code})
        early = EarlyWithdrawal(
            cause_id=uow.envelope.id,
            cause_type=uow.envelope.type,
            dossier_code=data.dossier_code,
            holding_unit=data.holding_unit,
            requested_at=data.requested_at,
        )
        await routing.store.keep_early_withdrawal(early, uow.session, uow.now)
        return
    if d is None:
        # A submission no desk received: routing never holds it.
        log.info("withdrawal of a dossier routing never saw", extra={"dossier": data.dossier_code})
        return
    ctx = routing.context(uow.envelope.id, uow.now)
    missed: tuple[str, ...] = ()
    try:
        if isinstance(data, WithdrawalRequested):
            decision = decide_withdrawal_request(d, data, ctx)
            # Intake named the holders of its view: the one that must stop it hears too.
            missed = withdrawal_missed_by(data.holding_unit, d)
        else:
            decision = decide_withdraw(d, data, ctx)
    except ActionRefused as refusal:
        # Not taken (the result is ready, or the dossier closed): said as a fact, so that
        # intake's "withdrawal requested" follows the dossier's real state again.
        log.info("withdrawal declined", extra={"dossier": d.code, "reason": refusal.reason})
        decision = decide_withdrawal_declined(d, data, ctx)
    recorded(decision, ctx, actor="applicant", cause_type=uow.envelope.type)
    await routing.save(decision, d, uow, ctx.now, forward_to=missed)


def units_of(d: Dossier) -> set[str]:
    """Every unit that received, holds, held, performs a step of or is offered the dossier."""
    units = {d.receiving_unit, d.holding_unit, *(s.unit for s in d.steps)}
    units |= {h.unit for h in d.holdings} | {t.to_unit for t in d.transfers}
    if d.transfer is not None:
        units.add(d.transfer.to_unit)
    return units


def successor_rule(routing: Routing) -> Callable[[str, str], bool]:
    """Whether the caller's unit acts for a named unit today (itself, or one it took over)."""
    today = routing.calendar.local_date(routing.clock.now())
    return lambda mine, named: acts_for(routing.catalogue, mine, named, today)


async def outsiders_refusal(
    refusal: ActionRefused, command: UnitCommand, uow: UnitOfWork, routing: Routing
) -> ActionRefused:
    """The refusal a unit may be told: to a unit that is no part of the dossier, any
    refusal is ``unknown_dossier``, as for a code that does not exist (as over HTTP), so
    that its state and existence stay private."""
    if refusal.code == RefusalCode.UNKNOWN_DOSSIER:
        return refusal
    d = await routing.store.get(command.dossier_code, uow.session)
    rule = successor_rule(routing)
    if d is not None and any(rule(command.unit, unit) for unit in units_of(d)):
        return refusal
    return ActionRefused(
        RefusalCode.UNKNOWN_DOSSIER, f"routing knows no dossier {command.dossier_code}"
    )


async def execute_command(
    command: UnitCommand, uow: UnitOfWork, *, routing: Routing, recent: bool = False
) -> tuple[Loaded, Decision]:
    """Apply a unit command (``uow``'s cause); raises ``ActionRefused`` when refused.
    Returns the dossier as saved, with its journey, and the decision.

    One read (the dossier and its journey) and one write (with its version check).
    ``recent``: decide on the copy this process kept of the dossier, if any, instead of
    reading it (``routing.recent``); a refusal on that copy raises ``StaleDossier``,
    so that the caller runs the action again on a fresh read."""
    kept = routing.recent.get(command.dossier_code) if recent else None
    loaded = kept or await routing.store.load(command.dossier_code, uow.session)
    if loaded is None:
        raise ActionRefused(
            RefusalCode.UNKNOWN_DOSSIER, f"routing knows no dossier {command.dossier_code}"
        )
    d, cause = loaded.dossier, uow.envelope
    ctx = routing.context(cause.id, uow.now)
    journey = journey_context(loaded.journey)
    with action_span(command.EVENT_TYPE, d.code, journey):  # facts join the journey's trace
        try:
            decision = decide_command(d, command, ctx)
        except ActionRefused as refusal:
            if kept is not None:  # refuse on the stored dossier only
                raise StaleDossier(d.code) from refusal
            raise
        recorded(decision, ctx, actor=command.actor, command_id=cause.id)
        saved = await routing.save(decision, d, uow, ctx.now)
    return Loaded(saved, loaded.journey), decision


def refusal_of(**fields: Any) -> CommandRefused:
    """The refusal naming a command, or ``MalformedMessage`` when the command's own
    attributes cannot be named in one (an id or subject with a bidirectional control
    character, say): such a message cannot be answered, so it is dead-lettered at once,
    not retried as if the failure were the store's."""
    try:
        return CommandRefused(**fields)
    except ValidationError as exc:
        where = ", ".join(f"{'.'.join(map(str, e['loc']))} [{e['type']}]" for e in exc.errors())
        reason = f"cannot be answered: its refusal would be invalid at {where}"
        raise MalformedMessage(reason) from exc


async def on_command(command: UnitCommand, uow: UnitOfWork, *, routing: Routing) -> None:
    """A command from the topic: its facts, or a refusal event naming it; never silence."""
    envelope = uow.envelope
    try:
        await execute_command(command, uow, routing=routing)
    except ActionRefused as refused:
        refusal = await outsiders_refusal(refused, command, uow, routing)
        uow.emit(
            refusal_of(
                dossier_code=command.dossier_code,
                command_id=envelope.id,
                command_type=envelope.type,
                unit=command.unit,
                code=refusal.code,
                reason=refusal.reason,
                refused_at=uow.now,
            ),
            audience=refusal_audience(command.unit),
        )
        log.info(
            "command refused",
            extra={
                "command_id": envelope.id,
                "code": refusal.code,
                "dossier": command.dossier_code,
            },
        )


async def on_agency_command(
    command: UnitCommand, uow: UnitOfWork, *, routing: Routing, sender: str
) -> None:
    """A command from an agency's own topic, which only that agency may write (Kafka ACL):
    it may act for the unit the topic is bound to, and for no other."""
    if command.unit == sender:
        await on_command(command, uow, routing=routing)
        return
    uow.emit(
        refusal_of(
            dossier_code=command.dossier_code,
            command_id=uow.envelope.id,
            command_type=uow.envelope.type,
            unit=sender,
            code=RefusalCode.NOT_SENDERS_UNIT.value,
            reason=f"the sender is bound to unit {sender}, not {command.unit}",
            refused_at=uow.now,
        ),
        audience=refusal_audience(sender),
    )
    log.warning(
        "command claiming another unit refused",
        extra={"command_id": uow.envelope.id, "sender": sender, "claimed": command.unit},
    )


async def on_invalid_command(
    envelope: Envelope,
    error: MalformedMessage,
    uow: UnitOfWork,
    *,
    routing: Routing,
    sender: str | None = None,
) -> None:
    """A command whose envelope, type or fields break the contract: refused with an event,
    not dropped. The refusal names the sender's unit where the topic proves it, else the
    unit the body names."""
    unit = sender or envelope.data.get("unit")
    refusal = refusal_of(
        dossier_code=envelope.subject,
        command_id=envelope.id,
        command_type=envelope.type,
        unit=unit if isinstance(unit, str) and 0 < len(unit) <= 64 else None,
        code=RefusalCode.INVALID_COMMAND.value,
        reason=error.reason,
        refused_at=uow.now,
    )
    uow.emit(refusal, audience=refusal_audience(refusal.unit))
    log.info("invalid command refused", extra={"command_id": envelope.id, "type": envelope.type})


def build_registry(routing: Routing, agency_units: Iterable[str] = ()) -> HandlerRegistry:
    """Which handler acts on which contract, with dependencies bound; commands on an
    agency's own topic are held to that agency's unit."""
    registry = HandlerRegistry()
    for unit in agency_units:
        topic = agency_commands(unit)
        registry.on_topic(
            topic, COMMAND_MODELS, partial(on_agency_command, routing=routing, sender=unit)
        )
        registry.on_invalid(topic, partial(on_invalid_command, routing=routing, sender=unit))
    return (
        registry.on_batch(
            [DossierReceived, DossierReceivedV1],  # the older version still read
            partial(on_dossiers_received, routing=routing),
        )
        .on(DossierWithdrawn, partial(on_dossier_withdrawn, routing=routing))
        .on(WithdrawalRequested, partial(on_dossier_withdrawn, routing=routing))
        .on_topic(DOSSIER_COMMANDS, COMMAND_MODELS, partial(on_command, routing=routing))
        .on_invalid(DOSSIER_COMMANDS, partial(on_invalid_command, routing=routing))
    )
