"""Whose agency feed gets routing's facts (routing.domain.audience): the units on the
dossier's way so far and the one it is handed to, never a unit further down its route;
a refusal goes to the unit that sent the command, alone."""

from __future__ import annotations

from typing import cast

from routing.dependencies import Routing, emit_facts
from routing.domain.audience import dossier_audience, withdrawal_missed_by
from routing.domain.closing import decide_withdrawal_request
from routing.handlers import on_agency_command

from shared.events.commands import RefuseTransfer
from shared.events.dossier import DossierState
from shared.events.registry import make_envelope
from shared.events.withdrawal import WithdrawalRequested
from shared.testing import detached_unit_of_work
from tests.unit.routing.builders import (
    DISTRICT_COMMITTEE,
    PROVINCE_NATURAL_RESOURCES,
    TAN_HOA_DESK,
    accept,
    act,
    complete,
    context,
    later,
    start,
)


def test_each_fact_of_the_journey_reaches_the_units_on_the_way_so_far() -> None:
    first = start()
    uow = detached_unit_of_work(now=later(0))
    emit_facts(uow, first.dossier, first)
    d = first.dossier
    steps = [
        complete(d, TAN_HOA_DESK),
        accept(d, DISTRICT_COMMITTEE),
        complete(d, DISTRICT_COMMITTEE),
        accept(d, PROVINCE_NATURAL_RESOURCES),
    ]
    for i, cmd in enumerate(steps, start=1):
        decision = act(d, cmd, later(i))
        emit_facts(uow, decision.dossier, decision, d)
        d = decision.dossier
    got = [(p.envelope.type, p.audience) for p in uow.pending_events]
    desk, district, province = TAN_HOA_DESK, DISTRICT_COMMITTEE, PROVINCE_NATURAL_RESOURCES
    assert got == [
        ("dossier.route.planned.v1", (desk,)),  # not the district, not yet handed it
        ("dossier.step.completed.v1", (desk, district)),
        ("dossier.transfer.requested.v1", (desk, district)),
        ("dossier.transfer.accepted.v1", (desk, district)),
        ("dossier.step.completed.v1", (desk, district, province)),
        ("dossier.transfer.requested.v1", (desk, district, province)),
        ("dossier.transfer.accepted.v1", (desk, district, province)),
    ]


def test_a_refused_hand_over_still_reaches_the_unit_that_refused_it_and_not_after() -> None:
    d = act(start().dossier, complete(start().dossier, TAN_HOA_DESK), later(1)).dossier
    refusal = RefuseTransfer(dossier_code=d.code, unit=DISTRICT_COMMITTEE, reason="thiếu")
    refused = act(d, refusal, later(2))
    assert dossier_audience(refused.dossier, d) == (TAN_HOA_DESK, DISTRICT_COMMITTEE)
    withdrawal = WithdrawalRequested(
        dossier_code=d.code,
        state=DossierState.WITHDRAWAL_REQUESTED,
        holding_unit=TAN_HOA_DESK,
        requested_at=later(3),
    )
    after = decide_withdrawal_request(refused.dossier, withdrawal, context(later(3)))
    assert dossier_audience(after.dossier, refused.dossier) == (TAN_HOA_DESK,)


async def test_a_command_claiming_another_unit_is_refused_to_its_senders_feed_alone() -> None:
    d = start().dossier
    command = complete(d, TAN_HOA_DESK)  # sent by the district, claiming the desk
    uow = detached_unit_of_work(cause=make_envelope(command, source="/agency"), now=later(1))
    await on_agency_command(
        command,
        uow,
        routing=cast(Routing, None),  # not reached: the claim is refused first
        sender=DISTRICT_COMMITTEE,
    )
    [refused] = uow.pending_events
    assert refused.envelope.type == "dossier.command.refused.v1"
    assert refused.audience == (DISTRICT_COMMITTEE,)


def test_a_withdrawal_request_intake_named_from_an_old_view_is_forwarded_to_the_holder() -> None:
    """Intake's view still had the desk holding it when the district had accepted it."""
    d = act(start().dossier, complete(start().dossier, TAN_HOA_DESK), later(1)).dossier
    in_transfer = d
    assert withdrawal_missed_by(TAN_HOA_DESK, in_transfer) == (DISTRICT_COMMITTEE,)
    held = act(d, accept(d, DISTRICT_COMMITTEE), later(2)).dossier
    assert withdrawal_missed_by(TAN_HOA_DESK, held) == (DISTRICT_COMMITTEE,)
    assert withdrawal_missed_by(DISTRICT_COMMITTEE, held) == ()  # intake told it
    request = make_envelope(
        WithdrawalRequested(
            dossier_code=d.code,
            state=DossierState.WITHDRAWAL_REQUESTED,
            holding_unit=TAN_HOA_DESK,
            requested_at=later(3),
        ),
        source="/lienthong/intake",
    )
    uow = detached_unit_of_work(cause=request, now=later(3))
    uow.forward(request, withdrawal_missed_by(TAN_HOA_DESK, held))
    [copy] = uow.pending_events
    assert (copy.envelope, copy.audience, copy.copies_only) == (
        request,
        (DISTRICT_COMMITTEE,),
        True,
    )
