"""Routing's handlers of intake's facts: a dossier received (its route planned) and a
withdrawal, or a request for one (kept when it comes before the reception)."""

from __future__ import annotations

import logging
from functools import partial

from routing.dependencies import Routing, emit_facts, own_facts
from routing.domain.audience import withdrawal_missed_by
from routing.domain.closing import (
    EarlyWithdrawal,
    decide_early_withdrawals,
    decide_withdraw,
    decide_withdrawal_declined,
    decide_withdrawal_request,
)
from routing.domain.route import resolve_route
from routing.domain.state_machine import ActionRefused
from routing.domain.trail import recorded
from routing.domain.workflow import decide_start
from routing.journeys import current_journey
from routing.store import Loaded
from shared.envelope import Envelope
from shared.events.reception import DossierReceived, DossierReceivedV1
from shared.events.withdrawal import DossierWithdrawn, WithdrawalRequested
from shared.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)
Received = DossierReceived | DossierReceivedV1


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
