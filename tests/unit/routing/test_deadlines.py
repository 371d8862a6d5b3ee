"""Deadlines: due dates, the supplement pause, overdue once, the new date and apology."""

from __future__ import annotations

from datetime import timedelta

from routing.domain.closing import decide_hand_over
from routing.domain.deadlines import (
    detect_overdue,
    lateness,
    new_appointment_date,
    paused_working_days,
)

from shared.events.commands import HandOverResult, ProvideSupplement, RequestSupplement
from shared.events.deadlines import DossierOverdue, StepOverdue
from shared.events.dossier import DossierState
from shared.events.pauses import SupplementProvided
from tests.unit.routing.builders import (
    DISTRICT_COMMITTEE,
    MONDAY_9AM,
    TAN_HOA_DESK,
    act,
    calendar,
    context,
    day,
    document,
    dossier_in,
    later,
    start,
)


def test_step_and_appointment_dates_from_reception() -> None:
    d = start().dossier
    assert d.step.due_date == day(3)  # budget 1 from Monday morning
    assert d.appointment_date == calendar().add_working_days(day(2), 19)  # 1 + 7 + 10 + 1
    assert d.appointment_date == day(27)


def test_pause_counts_working_days_only() -> None:
    friday, monday = later(4), later(7)
    assert paused_working_days(calendar(), friday, monday) == 1
    assert paused_working_days(calendar(), later(1), later(3)) == 2
    assert paused_working_days(calendar(), later(1), later(1.1)) == 0


def test_a_supplement_pauses_and_resumes_the_clock() -> None:
    d = dossier_in("processing_district")  # step 1 requested Monday 09:00, due 7 days later
    assert d.step.due_date == day(11)
    ask = RequestSupplement(
        dossier_code=d.code, unit=DISTRICT_COMMITTEE, missing_documents=["map"], reason="r"
    )
    paused = act(d, ask, later(1)).dossier  # Tuesday
    assert paused.state is DossierState.SUPPLEMENT_REQUESTED
    # While paused nothing is overdue, however late it gets.
    assert detect_overdue(paused, context(later(40))) is None
    give = ProvideSupplement(dossier_code=d.code, unit=TAN_HOA_DESK, documents=[document("map")])
    decision = act(paused, give, later(3))  # Thursday: two working days later
    [provided] = decision.facts
    assert isinstance(provided, SupplementProvided)
    assert provided.paused_working_days == 2
    assert provided.step_due_date == day(13)
    assert provided.appointment_date == calendar().add_working_days(day(27), 2)
    assert provided.documents_hash != d.documents_hash
    assert len(decision.dossier.documents) == 2


def test_a_late_step_is_raised_once() -> None:
    d = start().dossier  # step 0 due Tuesday 3 March
    end_of_due_day = MONDAY_9AM + timedelta(days=1, hours=14)  # Tuesday 23:00 local
    assert detect_overdue(d, context(end_of_due_day)) is None
    decision = detect_overdue(d, context(later(2)))
    assert decision is not None
    [overdue] = decision.facts
    assert isinstance(overdue, StepOverdue)
    assert (overdue.step_index, overdue.unit, overdue.due_date) == (0, TAN_HOA_DESK, day(3))
    assert detect_overdue(decision.dossier, context(later(3))) is None


def test_a_pending_hand_over_is_late_at_the_receiver() -> None:
    d = dossier_in("in_transfer")
    decision = detect_overdue(d, context(later(30)))
    assert decision is not None
    step_late = decision.facts[0]
    assert isinstance(step_late, StepOverdue) and step_late.unit == DISTRICT_COMMITTEE


def test_a_late_dossier_is_flagged_once_without_a_made_up_apology() -> None:
    d = dossier_in("processing_district")
    now = later(30)  # Wednesday 1 April, past the 27 March appointment
    decision = detect_overdue(d, context(now))
    assert decision is not None
    step_late, late = decision.facts
    assert isinstance(step_late, StepOverdue) and isinstance(late, DossierOverdue)
    assert late.appointment_date == day(27) and late.unit == DISTRICT_COMMITTEE
    assert late.apology is None and late.new_appointment_date is None
    assert not late.apologised and not late.missed_new_date
    after = decision.dossier
    assert after.appointment_date == day(27) and after.overdue_raised  # nothing invented
    assert detect_overdue(after, context(later(90))) is None
    # What a unit writing Mẫu 04 is offered: one day for its step, then 10 + 1.
    today = calendar().local_date(now)
    assert new_appointment_date(calendar(), d, today) == calendar().add_working_days(today, 12)


def test_nothing_is_overdue_once_out_of_routing_hands() -> None:
    for name in ("result_ready", "done", "stopped"):
        assert detect_overdue(dossier_in(name), context(later(90))) is None


def test_nearly_late_and_late() -> None:
    d = dossier_in("processing_district")  # step due 11 March, appointment 27 March
    horizon = calendar().add_working_days(day(9), 2)
    assert lateness(d, day(9), horizon) == ("nearly_late", None)
    assert lateness(d, day(12), day(16)) == ("late", None)
    assert lateness(d, day(30), day(31)) == ("late", "late")
    assert lateness(d, day(3), day(5)) == (None, None)


def test_handing_over_after_the_appointment_is_recorded_not_late() -> None:
    """The result was ready in time: the applicant's late collection is theirs."""
    d = dossier_in("result_ready")
    cmd = HandOverResult(dossier_code=d.code, unit=TAN_HOA_DESK)
    on_time = decide_hand_over(d, cmd, context(later(20)))
    assert on_time.facts[0].late is False  # type: ignore[attr-defined]
    assert on_time.facts[0].collected_after_appointment is False  # type: ignore[attr-defined]
    collected_late = decide_hand_over(d, cmd, context(later(30)))
    assert collected_late.facts[0].late is False  # type: ignore[attr-defined]
    assert collected_late.facts[0].collected_after_appointment is True  # type: ignore[attr-defined]


def test_documents_hash_is_the_canonical_form_intake_uses() -> None:
    import hashlib
    import json

    from shared.events.dossier import documents_hash

    docs = [document("Đơn xin chuyển mục đích"), document("Trích lục", "extract")]
    plain = [d.model_dump(mode="json") for d in docs]
    canonical = json.dumps(plain, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert documents_hash(docs) == hashlib.sha256(canonical.encode()).hexdigest()
