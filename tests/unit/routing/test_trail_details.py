"""A trail entry's detail as a stable code with params, its English sentence beside it.

Readers that translate (the operations console) read ``detail_code`` and
``detail_params``; the sentence in ``detail`` stays word for word what routing wrote
before codes existed, and entries stored then (no code) still read.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, TypeVar, get_args

import pytest
from pydantic import BaseModel
from routing.domain.history import DETAIL_TEXTS, DetailCode, detail_params_of, detail_text
from routing.domain.trail import build_trail, recorded, trail_detail

from shared.events.closing import DossierDone, DossierStopped, ResultReady
from shared.events.deadlines import (
    ApologyIssued,
    ApologyNotice,
    DossierOverdue,
    StepDueSoon,
    StepOverdue,
)
from shared.events.dossier import DossierFact, StepOutcome
from shared.events.handover import (
    HandoverReceipt,
    StepCompleted,
    TransferAccepted,
    TransferRefused,
    TransferRequested,
)
from shared.events.pauses import (
    PaymentReceived,
    PaymentRequested,
    SupplementProvided,
    SupplementRequested,
)
from shared.events.withdrawal import WithdrawalDeclined
from tests.unit.routing.builders import (
    DISTRICT_COMMITTEE,
    MONDAY_9AM,
    TAN_HOA_DESK,
    act,
    calendar,
    complete,
    context,
    later,
    start,
)

DUE = date(2026, 3, 11)
M = TypeVar("M", bound=BaseModel)


def fact(kind: type[M], **fields: Any) -> M:
    """A fact (or a part of one) with only the fields its detail reads."""
    return kind.model_construct(**fields)


# (fact, code, params, the sentence routing wrote before codes existed)
CASES: list[tuple[DossierFact, DetailCode, dict[str, str | int], str]] = [
    (
        fact(
            TransferRequested,
            step_index=1,
            from_unit=TAN_HOA_DESK,
            to_unit=DISTRICT_COMMITTEE,
            step_due_date=DUE,
        ),
        "transfer_requested",
        {
            "step_index": 1,
            "from_unit": TAN_HOA_DESK,
            "to_unit": DISTRICT_COMMITTEE,
            "step_due_date": "2026-03-11",
        },
        f"step 1: {TAN_HOA_DESK} -> {DISTRICT_COMMITTEE}, due 2026-03-11",
    ),
    (
        fact(
            TransferAccepted,
            step_index=2,
            receipt=fact(HandoverReceipt, receipt_id="r-9"),
        ),
        "transfer_accepted",
        {"step_index": 2, "receipt_id": "r-9"},
        "step 2: receipt r-9",
    ),
    (
        fact(TransferRefused, reason="Thiếu trích lục"),
        "transfer_refused",
        {"reason": "Thiếu trích lục"},
        "Thiếu trích lục",
    ),
    (fact(DossierStopped, reason="Rút hồ sơ"), "stopped", {"reason": "Rút hồ sơ"}, "Rút hồ sơ"),
    (
        fact(StepCompleted, step_index=0, outcome=StepOutcome.NEEDS_SUPPLEMENT),
        "step_completed",
        {"step_index": 0, "outcome": "needs_supplement"},
        "step 0: needs_supplement",
    ),
    (
        fact(SupplementRequested, reason="Thiếu {giấy}", repeated=False, request_number=1),
        "supplement_requested",
        {"reason": "Thiếu {giấy}"},
        "Thiếu {giấy}",
    ),
    (
        fact(SupplementRequested, reason="Thiếu bản đồ", repeated=True, request_number=2),
        "supplement_requested_again",
        {"reason": "Thiếu bản đồ", "request_number": 2},
        "Thiếu bản đồ (request no. 2)",
    ),
    (
        fact(SupplementProvided, paused_working_days=3),
        "supplement_provided",
        {"paused_working_days": 3},
        "clock paused 3 working day(s)",
    ),
    (
        fact(StepDueSoon, step_index=1, due_date=DUE, working_days_left=0),
        "step_due_soon",
        {"step_index": 1, "due_date": "2026-03-11", "working_days_left": 0},
        "step 1 due 2026-03-11, 0 working day(s) left",
    ),
    (
        fact(StepOverdue, step_index=1, due_date=DUE),
        "step_overdue",
        {"step_index": 1, "due_date": "2026-03-11"},
        "step 1 was due 2026-03-11",
    ),
    (
        fact(DossierOverdue, appointment_date=DUE, missed_new_date=False),
        "appointment_passed",
        {"appointment_date": "2026-03-11"},
        "appointment 2026-03-11 passed",
    ),
    (
        fact(DossierOverdue, appointment_date=DUE, missed_new_date=True),
        "appointment_passed_new_date_missed",
        {"appointment_date": "2026-03-11"},
        "appointment 2026-03-11 passed, the apology's new date missed too",
    ),
    (
        fact(
            ApologyIssued,
            apology=fact(ApologyNotice, number=2, new_appointment_date=DUE),
        ),
        "apology_issued",
        {"number": 2, "new_appointment_date": "2026-03-11"},
        "Mẫu 04 no. 2: new appointment 2026-03-11",
    ),
    (
        fact(PaymentRequested, amount_vnd=150000, description="Lệ phí: trước bạ"),
        "payment_requested",
        {"amount_vnd": 150000, "description": "Lệ phí: trước bạ"},
        "150000 VND: Lệ phí: trước bạ",
    ),
    (
        fact(PaymentReceived, amount_vnd=150000, reference="GW-1"),
        "payment_received",
        {"amount_vnd": 150000, "reference": "GW-1"},
        "150000 VND, reference GW-1",
    ),
    (
        fact(
            WithdrawalDeclined,
            requested_at=datetime(2026, 3, 12, 23, 30, tzinfo=UTC),  # 13/03 in Vietnam
            reason_code="result_ready",
        ),
        "withdrawal_declined",
        {"requested_date": "2026-03-13", "reason_code": "result_ready"},
        "withdrawal requested 2026-03-13 not taken: result_ready",
    ),
    (
        fact(
            ApologyIssued,
            apology=fact(
                ApologyNotice,
                number=1,
                new_appointment_date=DUE,
                late=True,
                due_by=date(2026, 3, 6),
            ),
        ),
        "apology_issued_late",
        {"number": 1, "new_appointment_date": "2026-03-11", "due_date": "2026-03-06"},
        "Mẫu 04 no. 1: new appointment 2026-03-11, issued late (due by 2026-03-06)",
    ),
    (
        fact(ResultReady, late=False, on_time=True),
        "result_ready",
        {"lateness": "on_time"},
        "result ready: on_time",
    ),
    (
        fact(
            DossierDone,
            late=False,
            collected_after_appointment=True,
            result_ready_at=datetime(2026, 3, 12, 18, 0, tzinfo=UTC),  # 13/03 in Vietnam
            done_at=datetime(2026, 3, 20, 7, 0, tzinfo=UTC),
        ),
        "result_returned",
        {"lateness": "on_time", "ready_date": "2026-03-13", "collection": "after_appointment"},
        "result returned: on_time (ready 2026-03-13), collected after_appointment",
    ),
]


@pytest.mark.parametrize(("said", "code", "params", "sentence"), CASES, ids=[c[1] for c in CASES])
def test_each_fact_is_said_by_a_code_and_params_and_the_same_sentence_as_before(
    said: DossierFact, code: DetailCode, params: dict[str, str | int], sentence: str
) -> None:
    assert trail_detail(said) == (code, params)
    assert sorted(params) == sorted(detail_params_of(code))
    assert detail_text(code, params) == sentence


def test_every_code_is_said_by_some_fact_and_has_a_sentence() -> None:
    codes = set(get_args(DetailCode))
    assert {case[1] for case in CASES} == codes == set(DETAIL_TEXTS)


def test_recorded_entries_carry_code_params_and_sentence() -> None:
    first = start()
    at = later(0.2)
    decision = act(first.dossier, complete(first.dossier, TAN_HOA_DESK), at)
    d = recorded(decision, context(at), actor="officer", command_id="c").dossier
    completed, requested = d.history[-2:]
    assert (completed.detail_code, completed.detail_params, completed.detail) == (
        "step_completed",
        {"step_index": 0, "outcome": "approve"},
        "step 0: approve",
    )
    assert requested.detail_code == "transfer_requested"
    assert requested.detail_params is not None
    assert requested.detail_params["to_unit"] == DISTRICT_COMMITTEE
    assert requested.detail == detail_text("transfer_requested", requested.detail_params)
    # A fact with nothing to add says nothing, in every form.
    reception = d.history[0]
    assert (reception.detail, reception.detail_code, reception.detail_params) == (None,) * 3


def test_an_entry_stored_before_codes_existed_still_reads_and_shows_in_the_trail() -> None:
    d = start().dossier
    stored = d.model_dump(mode="json")
    stored["history"].append(
        {
            "at": MONDAY_9AM.isoformat(),
            "event": "dossier.step.completed.v1",
            "state": "PROCESSING",
            "holding_unit": TAN_HOA_DESK,
            "detail": "step 0: approve",
        }
    )
    old = type(d).model_validate(stored)
    [entry] = build_trail(old, calendar(), later(1)).events[-1:]
    assert (entry.detail, entry.detail_code, entry.detail_params) == ("step 0: approve", None, None)
