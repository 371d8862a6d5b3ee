"""Routing's handlers of unit commands, from the topic or HTTP, and its registry (intake's
facts are handled in ``routing.intake_facts``).

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
from functools import partial
from typing import Any

from pydantic import ValidationError

from routing.dependencies import Routing
from routing.domain.audience import refusal_audience
from routing.domain.model import Decision, Dossier
from routing.domain.route import acts_for
from routing.domain.state_machine import ActionRefused, RefusalCode
from routing.domain.trail import recorded
from routing.domain.workflow import decide_command
from routing.intake_facts import on_dossier_withdrawn, on_dossiers_received
from routing.journeys import action_span, journey_context
from routing.store import Loaded, StaleDossier
from shared.envelope import Envelope, MalformedMessage
from shared.events.commands import CommandRefused, UnitCommand
from shared.events.reception import DossierReceived, DossierReceivedV1
from shared.events.registry import REGISTRY
from shared.events.withdrawal import DossierWithdrawn, WithdrawalRequested
from shared.handlers import HandlerRegistry
from shared.topics import DOSSIER_COMMANDS, agency_commands
from shared.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)
COMMAND_MODELS: list[type[UnitCommand]] = [
    model for model in REGISTRY.values() if issubclass(model, UnitCommand)
]


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
