"""A withdrawal request that reached routing before the dossier's reception is taken when
the reception comes (the route planned, then the request), never lost."""

from __future__ import annotations

from datetime import timedelta

from routing.domain.closing import EarlyWithdrawal, decide_early_withdrawals
from routing.domain.model import Context, Decision
from routing.domain.trail import recorded

from shared.events.commands import StopProcessing
from shared.events.dossier import DossierState
from shared.events.withdrawal import WithdrawalDeclined
from tests.unit.routing.builders import MONDAY_9AM, TAN_HOA_DESK, act, context, later, start

CODE = f"{TAN_HOA_DESK}-260302-0001"  # the builders' received dossier


def kept(cause_id: str, minutes_before_reception: int) -> EarlyWithdrawal:
    return EarlyWithdrawal(
        cause_id=cause_id,
        cause_type="dossier.withdrawal.requested.v1",
        dossier_code=CODE,
        holding_unit=TAN_HOA_DESK,
        requested_at=MONDAY_9AM + timedelta(minutes=30 - minutes_before_reception),
    )


def started() -> Decision:
    decision = start()
    return recorded(decision, context(MONDAY_9AM), actor="routing")


def taken_at(e: EarlyWithdrawal) -> Context:
    return context(later(1), cause=e.cause_id)


def test_a_request_kept_before_the_reception_is_taken_as_the_route_is_planned() -> None:
    decision = decide_early_withdrawals(started(), [kept("request-1", 10)], taken_at)

    d = decision.dossier
    assert d.state is DossierState.WITHDRAWAL_REQUESTED
    assert d.holding_unit == TAN_HOA_DESK
    # The facts routing would have emitted had the request come after the reception: the
    # route planned (the state after it, PROCESSING), nothing for the request (intake's fact).
    assert [f.EVENT_TYPE for f in decision.facts] == ["dossier.route.planned.v1"]
    assert decision.facts[0].state is DossierState.PROCESSING
    # The history says so, in that order, the request as the applicant's.
    last = d.history[-2:]
    assert [(h.event, h.state, h.actor) for h in last] == [
        ("dossier.route.planned.v1", DossierState.PROCESSING, "routing"),
        ("dossier.withdrawal.requested.v1", DossierState.WITHDRAWAL_REQUESTED, "applicant"),
    ]
    # The desk, which holds it, may now stop it (portal status 8).
    stop = StopProcessing(dossier_code=d.code, unit=TAN_HOA_DESK, reason="Người nộp rút hồ sơ")
    assert act(d, stop, later(2)).dossier.state is DossierState.STOPPED


def test_a_second_kept_request_is_declined_as_it_would_have_been() -> None:
    second, first = kept("request-b", 5), kept("request-a", 20)
    decision = decide_early_withdrawals(started(), [second, first], taken_at)

    assert decision.dossier.state is DossierState.WITHDRAWAL_REQUESTED
    assert [f.EVENT_TYPE for f in decision.facts] == [
        "dossier.route.planned.v1",
        "dossier.withdrawal.declined.v1",
    ]
    declined = decision.facts[1]
    assert isinstance(declined, WithdrawalDeclined)
    # The later request is the one declined: taken in the order the applicant asked.
    assert declined.reason_code == "already_requested"
    assert declined.requested_at == second.requested_at
    assert declined.state is DossierState.WITHDRAWAL_REQUESTED


def test_no_kept_request_leaves_the_start_as_it_was() -> None:
    before = started()
    after = decide_early_withdrawals(before, [], taken_at)
    assert after.dossier.state is DossierState.PROCESSING
    assert after.facts == before.facts
