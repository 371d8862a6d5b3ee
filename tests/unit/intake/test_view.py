"""The applicant's view: withdrawal rule, labels for every fact, and how facts apply."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from intake.domain import (
    INTERNAL_STEPS,
    PUBLIC_STEPS,
    STATE_LABELS,
    WITHDRAWABLE_STATES,
    check_awaiting_desk,
    check_withdrawal,
    history_step,
    view_change,
)
from intake.problems import STATUS
from intake.views import dossier_view

from shared.catalogue import load_catalogue
from shared.events.dossier import (
    DossierFact,
    DossierState,
)
from shared.events.registry import REGISTRY
from shared.refusals import Refused
from tests.samples import (
    DISTRICT_LAND,
    overdue,
    step_overdue,
    transfer_accepted,
    transfer_requested,
)

T0 = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
CODE = "001.21.31.H59-261126-0001"
DESK = "001.21.31.H59"


def received_history() -> list[dict[str, Any]]:
    return [history_step("dossier.received.v1", "e0", T0, DossierState.RECEIVED, DESK)]


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
    fields = view_change(
        "dossier.transfer.accepted.v1", "e1", at, transfer_accepted(CODE, at=at),
        applied_up_to=T0, history=received_history(),
    )  # fmt: skip
    assert fields["state"] == "PROCESSING"
    assert fields["holding_unit"] == DISTRICT_LAND
    assert fields["applied_up_to"] == at
    assert [s["event_id"] for s in fields["history"]] == ["e0", "e1"]


def test_a_fact_already_in_the_history_changes_nothing() -> None:
    fields = view_change(
        "dossier.received.v1",
        "e0",
        T0,
        transfer_requested(CODE),
        applied_up_to=T0,
        history=received_history(),
    )
    assert fields == {}


def test_an_older_fact_arriving_late_takes_its_place_without_rolling_back() -> None:
    history = [
        *received_history(),
        history_step("dossier.done.v1", "e9", T0 + timedelta(days=3), DossierState.DONE, DESK),
    ]
    at = T0 + timedelta(hours=1)
    fields = view_change(
        "dossier.transfer.requested.v1", "e1", at, transfer_requested(CODE, at=at),
        applied_up_to=T0 + timedelta(days=3), history=history,
    )  # fmt: skip
    assert "state" not in fields and "holding_unit" not in fields
    assert [s["event_id"] for s in fields["history"]] == ["e0", "e1", "e9"]


def test_an_internal_fact_moves_the_state_but_adds_no_step() -> None:
    fields = view_change(
        "dossier.step.overdue.v1", "e2", T0, step_overdue(CODE),
        applied_up_to=T0, history=received_history(),
    )  # fmt: skip
    assert fields["state"] == "PROCESSING"
    assert "history" not in fields


def test_an_overdue_dossier_gets_its_new_appointment_date() -> None:
    fields = view_change(
        "dossier.overdue.v1", "e3", T0, overdue(CODE, new_appointment_date=date(2026, 12, 4)),
        applied_up_to=None, history=[],
    )  # fmt: skip
    assert fields["appointment_date"] == "2026-12-04"
    assert fields["history"][0]["event_type"] == "dossier.overdue.v1"


def test_the_view_labels_steps_and_names_units() -> None:
    catalogue = load_catalogue("three-level")
    doc = {
        "_id": CODE,
        "state": "IN_TRANSFER",
        "procedure_code": "1.001193",
        "receiving_unit": DESK,
        "holding_unit": "999.99.99.H59",  # unknown to this catalogue: code only
        "submitted_at": T0,
        "received_at": T0,
        "appointment_date": "2026-11-27",
        "history": received_history(),
        "refusal": None,
    }
    view = dossier_view(catalogue, doc)
    assert view.state_label.vi == "Đang xử lý"  # the portal's label: a hand-over is processing
    assert view.portal_status == 4
    assert view.receiving_unit.name_en == "Tan Hoa Town One-Stop Desk"
    assert view.holding_unit.name is None
    assert view.history[0].label.en == "Dossier received"
    assert view.appointment_date == date(2026, 11, 27)
