"""The applicant's view: withdrawal rule, labels for every fact, and how facts apply."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from intake.domain.public_view import INTERNAL_STEPS, PUBLIC_STEPS, STATE_LABELS, apply_fact
from intake.domain.state_checks import WITHDRAWABLE_STATES, check_awaiting_desk, check_withdrawal
from intake.model import IntakeDossier, PublicStep
from intake.problems import STATUS
from intake.views import dossier_view

from shared.catalogue.loading import load_catalogue
from shared.events.dossier import ApplicantContact, DossierFact, DossierState
from shared.events.handover import DossierRoutePlanned, RouteStep
from shared.events.registry import REGISTRY
from shared.refusals import Refused
from tests.samples import (
    DISTRICT_LAND,
    overdue,
    step_overdue,
    stopped,
    transfer_accepted,
    transfer_requested,
    withdrawal_declined,
)

T0 = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
CODE = "001.21.31.H59-261126-0001"
DESK = "001.21.31.H59"


def step(event_type: str, event_id: str, at: datetime, state: DossierState) -> PublicStep:
    return PublicStep(
        event_id=event_id, event_type=event_type, at=at, state=state, holding_unit=DESK
    )


def received_history() -> list[PublicStep]:
    return [step("dossier.received.v1", "e0", T0, DossierState.RECEIVED)]


def received(**fields: object) -> IntakeDossier:
    """A dossier received at the desk at T0 (its first fact applied)."""
    dossier = IntakeDossier(
        code=CODE,
        state=DossierState.RECEIVED,
        holding_unit=DESK,
        applied_up_to=T0,
        channel="desk",
        procedure_code="1.001193",
        procedure_version="2026.1",
        receiving_unit=DESK,
        submitted_at=T0,
        received_at=T0,
        appointment_date=date(2026, 11, 27),
        total_budget_days=3,
        applicant=ApplicantContact(name="Nguyễn Văn An", identity_hash="h" * 64),
        documents=[],
        documents_hash="0" * 64,
        lookup_token_hash="t" * 64,
        history=received_history(),
        created_at=T0,
    )
    return dossier.changed(**fields)


# --- withdrawal and desk checks -------------------------------------------------------


@pytest.mark.parametrize("state", list(DossierState))
def test_withdrawal_is_allowed_only_before_a_result_or_closure(state: DossierState) -> None:
    allowed = {"SUBMITTED", "RECEIVED", "IN_TRANSFER", "PROCESSING"}
    allowed |= {"SUPPLEMENT_REQUESTED", "AWAITING_PAYMENT"}
    if state.value in allowed:
        check_withdrawal(state)
        assert state in WITHDRAWABLE_STATES
    else:
        with pytest.raises(Refused) as caught:
            check_withdrawal(state)
        assert (caught.value.code, STATUS[caught.value.code]) == ("withdrawal_not_allowed", 409)


def test_only_a_submitted_dossier_waits_for_a_desk() -> None:
    check_awaiting_desk(DossierState.SUBMITTED)
    with pytest.raises(Refused) as caught:
        check_awaiting_desk(DossierState.RECEIVED)
    assert (caught.value.code, STATUS[caught.value.code]) == ("invalid_state", 409)


# --- labels ---------------------------------------------------------------------------


def test_every_state_has_a_vietnamese_and_an_english_label() -> None:
    assert set(STATE_LABELS) == set(DossierState)
    assert all(vi and en for vi, en in STATE_LABELS.values())


def test_every_dossier_fact_is_either_a_public_step_or_internal() -> None:
    facts = {t for t, model in REGISTRY.items() if issubclass(model, DossierFact)}
    assert facts == set(PUBLIC_STEPS) | INTERNAL_STEPS
    assert not set(PUBLIC_STEPS) & INTERNAL_STEPS
    assert "dossier.command.refused.v1" not in facts  # refusals of commands are not public


# --- applying facts -------------------------------------------------------------------


def test_a_later_fact_moves_state_and_holder_and_adds_a_step() -> None:
    at = T0 + timedelta(hours=1)
    fact = transfer_accepted(CODE, at=at)
    changed = apply_fact(received(), "dossier.transfer.accepted.v1", "e1", at, fact)
    assert changed is not None
    assert changed.state is DossierState.PROCESSING
    assert changed.holding_unit == DISTRICT_LAND
    assert changed.applied_up_to == at
    assert [s.event_id for s in changed.history] == ["e0", "e1"]


def test_a_fact_already_in_the_history_changes_nothing() -> None:
    fact = transfer_requested(CODE)
    assert apply_fact(received(), "dossier.received.v1", "e0", T0, fact) is None


def test_an_older_fact_arriving_late_takes_its_place_without_rolling_back() -> None:
    done_at = T0 + timedelta(days=3)
    history = [*received_history(), step("dossier.done.v1", "e9", done_at, DossierState.DONE)]
    dossier = received(state=DossierState.DONE, applied_up_to=done_at, history=history)
    at = T0 + timedelta(hours=1)
    fact = transfer_requested(CODE, at=at)
    changed = apply_fact(dossier, "dossier.transfer.requested.v1", "e1", at, fact)
    assert changed is not None
    assert (changed.state, changed.holding_unit) == (DossierState.DONE, DESK)
    assert [s.event_id for s in changed.history] == ["e0", "e1", "e9"]


def test_an_internal_fact_moves_the_state_but_adds_no_step() -> None:
    fact = step_overdue(CODE)
    changed = apply_fact(received(), "dossier.step.overdue.v1", "e2", T0, fact)
    assert changed is not None
    assert changed.state is DossierState.PROCESSING
    assert changed.history == received_history()


def test_an_overdue_dossier_gets_its_new_appointment_date() -> None:
    dossier = received(applied_up_to=None, history=[])
    fact = overdue(CODE, new_appointment_date=date(2026, 12, 4))
    changed = apply_fact(dossier, "dossier.overdue.v1", "e3", T0, fact)
    assert changed is not None
    assert changed.appointment_date == date(2026, 12, 4)
    assert changed.stored()["appointment_date"] == "2026-12-04"  # kept as an ISO date
    assert changed.history[0].event_type == "dossier.overdue.v1"


def test_the_view_labels_steps_and_names_units() -> None:
    catalogue = load_catalogue("three-level")
    dossier = received(
        state=DossierState.IN_TRANSFER,
        holding_unit="999.99.99.H59",  # unknown to this catalogue: code only
    )
    view = dossier_view(catalogue, dossier)
    assert view.state_label.vi == "Đang xử lý"  # the portal's label: a hand-over is processing
    assert view.portal_status == 4
    assert view.receiving_unit.name_en == "Tan Hoa Town One-Stop Desk"
    assert view.holding_unit.name is None
    assert view.history[0].label.en == "Dossier received"
    assert view.appointment_date == date(2026, 11, 27)


def test_a_declined_withdrawal_brings_the_look_up_back_to_the_dossier_as_it_is() -> None:
    """A request that crossed the result: intake showed WITHDRAWAL_REQUESTED from its own
    request until routing's decline says the dossier is still RESULT_READY."""
    asked = T0 + timedelta(days=2)
    history = [
        *received_history(),
        step("dossier.withdrawal.requested.v1", "e5", asked, DossierState.WITHDRAWAL_REQUESTED),
    ]
    dossier = received(
        state=DossierState.WITHDRAWAL_REQUESTED, applied_up_to=asked, history=history
    )
    declined_at = asked + timedelta(seconds=2)
    fact = withdrawal_declined(CODE, DESK, requested_at=asked, declined_at=declined_at)
    changed = apply_fact(dossier, fact.EVENT_TYPE, "e6", declined_at, fact)
    assert changed is not None
    assert (changed.state, changed.holding_unit) == (DossierState.RESULT_READY, DESK)
    assert [s.event_type for s in changed.history][-1] == "dossier.withdrawal.declined.v1"


def withdrawal_requested(at: datetime) -> IntakeDossier:
    """A dossier received at T0 whose applicant asked to withdraw it at ``at``."""
    history = [
        *received_history(),
        step("dossier.withdrawal.requested.v1", "e5", at, DossierState.WITHDRAWAL_REQUESTED),
    ]
    return received(state=DossierState.WITHDRAWAL_REQUESTED, applied_up_to=at, history=history)


def test_the_route_planned_after_a_withdrawal_request_does_not_hide_it() -> None:
    """The applicant withdrew 30 ms after the desk's reception, before routing planned the
    route (100 ms): routing planned it, then took the request (silently). The plan is later
    by time, earlier in routing's order: the look-up keeps showing the request."""
    asked = T0 + timedelta(milliseconds=30)
    planned_at = T0 + timedelta(milliseconds=100)
    fact = DossierRoutePlanned(
        dossier_code=CODE,
        state=DossierState.PROCESSING,
        holding_unit=DESK,
        steps=[RouteStep(index=0, name="Tiếp nhận", unit=DESK, budget_days=1)],
        current_step=0,
        step_due_date=date(2026, 11, 27),
    )
    changed = apply_fact(withdrawal_requested(asked), fact.EVENT_TYPE, "e6", planned_at, fact)
    assert changed is not None
    assert changed.state is DossierState.WITHDRAWAL_REQUESTED
    assert changed.applied_up_to == planned_at
    assert changed.history[-1].event_type == "dossier.withdrawal.requested.v1"


def test_a_hand_over_routing_took_before_the_request_moves_the_holder_not_the_state() -> None:
    asked = T0 + timedelta(hours=1)
    at = asked + timedelta(seconds=1)
    fact = transfer_accepted(CODE, at=at)
    changed = apply_fact(withdrawal_requested(asked), fact.EVENT_TYPE, "e6", at, fact)
    assert changed is not None
    assert (changed.state, changed.holding_unit) == (
        DossierState.WITHDRAWAL_REQUESTED,
        DISTRICT_LAND,
    )
    assert [s.event_id for s in changed.history] == ["e0", "e5", "e6"]


def test_the_stop_ends_a_withdrawal_request() -> None:
    asked = T0 + timedelta(hours=1)
    at = asked + timedelta(hours=1)
    fact = stopped(CODE)
    changed = apply_fact(withdrawal_requested(asked), fact.EVENT_TYPE, "e7", at, fact)
    assert changed is not None
    assert changed.state is DossierState.STOPPED
