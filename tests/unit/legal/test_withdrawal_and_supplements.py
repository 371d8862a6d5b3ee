"""Withdrawal is a request the holder stops; supplements list what is missing, once ideally.

Worked dates: a judicial record received Monday 2 March 2026 10:00 (appointment 16
March), at the justice department from Tuesday 3 March.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from intake.domain.state_checks import WITHDRAWABLE_STATES
from routing.domain.closing import decide_withdrawal_declined, decide_withdrawal_request
from routing.domain.deadlines import detect_overdue
from routing.domain.model import Dossier
from routing.domain.state_machine import TRANSITIONS, Action, ActionRefused, RefusalCode

from shared.events.closing import DossierStopped
from shared.events.commands import (
    CompleteStep,
    HandOverResult,
    ProvideSupplement,
    RequestSupplement,
    ReturnResult,
    StopProcessing,
)
from shared.events.dossier import BroughtDocument, DossierState, StepOutcome
from shared.events.pauses import SupplementProvided, SupplementRequested
from shared.events.withdrawal import WithdrawalDeclined, WithdrawalRequested
from tests.unit.legal.builders import (
    CONFIGURATIONS,
    UNITS,
    act,
    at,
    at_department,
    context,
    d,
    hand_over,
    received,
    start,
)


def withdrawal(dossier: Dossier, when: datetime) -> WithdrawalRequested:
    return WithdrawalRequested(
        dossier_code=dossier.code,
        state=DossierState.WITHDRAWAL_REQUESTED,
        holding_unit=dossier.holding_unit,
        requested_at=when,
        reason="Không còn nhu cầu",
    )


@pytest.mark.parametrize("configuration", CONFIGURATIONS)
def test_withdrawal_is_a_request_the_holding_unit_then_stops(configuration: str) -> None:
    dossier = at_department(configuration)
    request = withdrawal(dossier, at(3, 5))
    assert (request.portal_status, request.portal_status_label) == (7, "Công dân yêu cầu rút hồ sơ")
    asked = decide_withdrawal_request(dossier, request, context(at(3, 5), configuration)).dossier
    assert asked.state is DossierState.WITHDRAWAL_REQUESTED and asked.closed_at is None
    assert detect_overdue(asked, context(at(4, 30), configuration)) is None  # no clock now
    justice = UNITS[configuration].justice
    stop = StopProcessing(dossier_code=dossier.code, unit=justice, reason="Công dân rút hồ sơ")
    [stopped] = act(asked, stop, at(3, 6), configuration).facts
    assert isinstance(stopped, DossierStopped)
    assert (stopped.state, stopped.portal_status, stopped.portal_status_label) == (
        DossierState.STOPPED,
        8,
        "Dừng xử lý",
    )


def test_only_the_holding_unit_stops_a_withdrawal_request() -> None:
    dossier = at_department("three-level")
    asked = decide_withdrawal_request(
        dossier, withdrawal(dossier, at(3, 5)), context(at(3, 5), "three-level")
    ).dossier
    stop = StopProcessing(dossier_code=dossier.code, unit="001.21.31.H59", reason="r")
    with pytest.raises(ActionRefused) as refused:
        act(asked, stop, at(3, 6), "three-level")
    assert refused.value.code is RefusalCode.NOT_HOLDING_UNIT


def test_a_supplement_verdict_must_list_the_missing_documents() -> None:
    dossier = at_department("three-level")
    empty = CompleteStep(
        dossier_code=dossier.code, unit="000.00.04.H59", outcome=StepOutcome.NEEDS_SUPPLEMENT
    )
    with pytest.raises(ActionRefused) as refused:
        act(dossier, empty, at(3, 4), "three-level")
    assert refused.value.code is RefusalCode.MISSING_DOCUMENTS_REQUIRED
    with pytest.raises(ValueError):
        RequestSupplement(
            dossier_code=dossier.code, unit="000.00.04.H59", missing_documents=[], reason="r"
        )


@pytest.mark.parametrize("configuration", CONFIGURATIONS)
def test_a_second_supplement_request_is_flagged(configuration: str) -> None:
    dossier = at_department(configuration)
    justice, desk = UNITS[configuration].justice, UNITS[configuration].desk
    ask = RequestSupplement(
        dossier_code=dossier.code, unit=justice, missing_documents=["identity_copy"], reason="r"
    )
    first = act(dossier, ask, at(3, 4), configuration)
    [requested] = first.facts
    assert isinstance(requested, SupplementRequested)
    assert (requested.request_number, requested.repeated) == (1, False)
    doc = BroughtDocument(name="Bản sao CCCD", type="identity_copy", size_bytes=1, sha256="c" * 64)
    give = ProvideSupplement(dossier_code=dossier.code, unit=desk, documents=[doc])
    back = act(first.dossier, give, at(3, 5), configuration).dossier
    again = act(back, ask, at(3, 6), configuration)
    [second] = again.facts
    assert isinstance(second, SupplementRequested)
    assert (second.request_number, second.repeated) == (2, True)


@pytest.mark.parametrize("configuration", CONFIGURATIONS)
def test_a_supplement_brought_after_the_cutoff_counts_from_the_next_day(configuration: str) -> None:
    dossier = at_department(configuration)  # step due 13 March, appointment 16 March
    justice, desk = UNITS[configuration].justice, UNITS[configuration].desk
    ask = RequestSupplement(
        dossier_code=dossier.code, unit=justice, missing_documents=["identity_copy"], reason="r"
    )
    paused = act(dossier, ask, at(3, 4, 10), configuration).dossier  # Wednesday
    doc = BroughtDocument(name="Bản sao CCCD", type="identity_copy", size_bytes=1, sha256="c" * 64)
    give = ProvideSupplement(dossier_code=dossier.code, unit=desk, documents=[doc])
    before = act(paused, give, at(3, 6, 14, 59), configuration).facts[0]
    after = act(paused, give, at(3, 6, 15, 0), configuration).facts[0]
    assert isinstance(before, SupplementProvided) and isinstance(after, SupplementProvided)
    assert before.paused_working_days == 2  # Thu 5, Fri 6
    assert (before.step_due_date, before.appointment_date) == (d(3, 17), d(3, 18))
    assert after.paused_working_days == 3  # brought Friday 15:00: received Monday 9
    assert (after.step_due_date, after.appointment_date) == (d(3, 18), d(3, 19))


@pytest.mark.parametrize("configuration", CONFIGURATIONS)
@pytest.mark.parametrize("note", [None, "", "  \t "])
def test_a_refusal_must_state_its_reason(configuration: str, note: str | None) -> None:
    """A dossier refused by a processing unit goes back with a written reason."""
    dossier = at_department(configuration)
    justice = UNITS[configuration].justice
    silent = CompleteStep(
        dossier_code=dossier.code, unit=justice, outcome=StepOutcome.REJECT, note=note
    )
    with pytest.raises(ActionRefused) as refused:
        act(dossier, silent, at(3, 5), configuration)
    assert (refused.value.code, refused.value.field) == (RefusalCode.REASON_REQUIRED, "note")
    reasoned = silent.model_copy(update={"note": "Không đủ điều kiện cấp phiếu"})
    decision = act(dossier, reasoned, at(3, 5), configuration)
    assert decision.dossier.outcome == "rejected"
    assert decision.facts[0].note == "Không đủ điều kiện cấp phiếu"  # type: ignore[attr-defined]


@pytest.mark.parametrize("configuration", CONFIGURATIONS)
def test_a_ready_result_cannot_be_withdrawn(configuration: str) -> None:
    """Intake refuses a withdrawal once the result is ready (status 9); routing agrees, so
    a request crossing the result on the way is ignored instead of reopening the dossier
    to be stopped (status 8) though it was decided."""
    dossier = start(received(configuration, at(3, 2, 10)), configuration)
    dossier = hand_over(dossier, at(3, 3, 10), configuration)
    dossier = hand_over(dossier, at(3, 12, 10), configuration)
    desk = UNITS[configuration].desk
    ready = act(
        dossier, ReturnResult(dossier_code=dossier.code, unit=desk), at(3, 13), configuration
    ).dossier
    with pytest.raises(ActionRefused) as refused:
        decide_withdrawal_request(
            ready, withdrawal(ready, at(3, 13, 10)), context(at(3, 13, 10), configuration)
        )
    assert refused.value.code is RefusalCode.TRANSITION_NOT_ALLOWED


def test_routing_takes_withdrawal_requests_in_the_states_intake_sends_them() -> None:
    """Intake asks (status 7) from its withdrawable states but SUBMITTED, which it closes
    itself; routing takes the request from exactly those."""
    requested = {s for (s, a) in TRANSITIONS if a is Action.REQUEST_WITHDRAWAL}
    assert requested == WITHDRAWABLE_STATES - {DossierState.SUBMITTED}


@pytest.mark.parametrize("configuration", CONFIGURATIONS)
def test_a_withdrawal_routing_cannot_take_is_declined_as_a_fact(configuration: str) -> None:
    """A request that crossed the result on its way: routing changes nothing but says so
    (dossier.withdrawal.declined.v1, the dossier's own state), so that intake, which shows
    "withdrawal requested", follows the real state again; so for a closed dossier."""
    dossier = start(received(configuration, at(3, 2, 10)), configuration)
    dossier = hand_over(dossier, at(3, 3, 10), configuration)
    dossier = hand_over(dossier, at(3, 12, 10), configuration)
    desk = UNITS[configuration].desk
    ready = act(
        dossier, ReturnResult(dossier_code=dossier.code, unit=desk), at(3, 13), configuration
    ).dossier
    request = WithdrawalRequested(
        dossier_code=ready.code, state=DossierState.WITHDRAWAL_REQUESTED,
        holding_unit=desk, requested_at=at(3, 13, 8, 59),
    )  # fmt: skip
    ctx = context(at(3, 13, 9, 1), configuration)
    decision = decide_withdrawal_declined(ready, request, ctx)
    (declined,) = decision.facts
    assert isinstance(declined, WithdrawalDeclined)
    assert (declined.state, declined.holding_unit) == (DossierState.RESULT_READY, desk)
    assert declined.portal_status == 9 and declined.reason_code == "result_ready"
    assert declined.requested_at == at(3, 13, 8, 59) and declined.declined_at == at(3, 13, 9, 1)
    assert decision.dossier.state is DossierState.RESULT_READY
    done = act(
        ready, HandOverResult(dossier_code=ready.code, unit=desk), at(3, 16), configuration
    ).dossier
    (closed,) = decide_withdrawal_declined(done, request, ctx).facts
    assert isinstance(closed, WithdrawalDeclined)
    assert (closed.state, closed.reason_code) == (DossierState.DONE, "closed")
