"""Whose agency feed gets the facts intake emits: the receiving desk, and every unit
intake's view has seen hold the dossier (the holder must stop it on a withdrawal
request); never a unit the dossier has not reached."""

from __future__ import annotations

from intake.actions import record_decision
from intake.dossiers import decide_withdrawal
from intake.model import PublicStep

from shared.events.dossier import DossierState
from shared.events.withdrawal import WithdrawalRequested
from shared.testing import detached_unit_of_work
from tests.unit.intake.test_personal_fields import DESK, NOW, stored_dossier

DISTRICT = "000.00.31.H59"
PROVINCE = "000.00.09.H59"


def step(holder: str, state: DossierState) -> PublicStep:
    return PublicStep(event_id="e", event_type="t", at=NOW, state=state, holding_unit=holder)


def test_a_withdrawal_request_reaches_the_desk_and_every_unit_that_held_the_dossier() -> None:
    dossier = stored_dossier(
        DossierState.PROCESSING,
        None,
        received_at=NOW,
        withdrawal=None,
        holding_unit=DISTRICT,
        history=[
            step(DESK, DossierState.RECEIVED),
            step(DESK, DossierState.IN_TRANSFER),
            step(DISTRICT, DossierState.PROCESSING),
        ],
    )
    uow = detached_unit_of_work(now=NOW)
    record_decision(decide_withdrawal(dossier, "ốm", NOW), NOW, uow)
    [pending] = uow.pending_events
    assert pending.envelope.type == WithdrawalRequested.EVENT_TYPE
    assert pending.audience == (DESK, DISTRICT)  # not the province, further down the route


def test_before_reception_only_the_desk_is_told() -> None:
    dossier = stored_dossier(DossierState.SUBMITTED, None, withdrawal=None, history=[])
    uow = detached_unit_of_work(now=NOW)
    record_decision(decide_withdrawal(dossier, None, NOW), NOW, uow)
    assert [event.audience for event in uow.pending_events] == [(DESK,)]
    assert PROVINCE not in uow.pending_events[0].audience
