"""Step due soon: one reminder per step, N working days ahead, only while the clock runs."""

from __future__ import annotations

from routing.domain.closing import decide_withdraw
from routing.domain.deadlines import detect_deadlines, detect_due_soon, due_soon_days_left
from routing.domain.model import Dossier

from shared.events.commands import ProvideSupplement, RefuseTransfer, RequestSupplement
from shared.events.deadlines import DossierOverdue, StepDueSoon, StepOverdue
from shared.events.dossier import DossierState
from shared.events.withdrawal import DossierWithdrawn
from tests.unit.routing.builders import (
    DISTRICT_COMMITTEE,
    TAN_HOA_DESK,
    act,
    calendar,
    complete,
    context,
    day,
    document,
    dossier_in,
    later,
    start,
)


def reminder_of(d: Dossier, days_after_monday: float, within: int = 1) -> StepDueSoon | None:
    decision = detect_due_soon(d, context(later(days_after_monday)), within)
    if decision is None:
        return None
    [fact] = decision.facts
    assert isinstance(fact, StepDueSoon)
    return fact


def test_days_left_counts_working_days_up_to_the_due_date() -> None:
    wednesday = day(11)
    assert due_soon_days_left(wednesday, day(10), 1, calendar()) == 1
    assert due_soon_days_left(wednesday, day(11), 1, calendar()) == 0  # due today
    assert due_soon_days_left(wednesday, day(9), 1, calendar()) is None  # two days left
    assert due_soon_days_left(wednesday, day(9), 2, calendar()) == 2
    assert due_soon_days_left(wednesday, day(12), 5, calendar()) is None  # overdue instead
    assert due_soon_days_left(wednesday, day(10), 0, calendar()) is None  # disabled
    assert due_soon_days_left(None, day(10), 1, calendar()) is None
    # Over a weekend: Friday before a Monday due date leaves one working day.
    assert due_soon_days_left(day(9), day(6), 1, calendar()) == 1


def test_the_unit_is_reminded_once_the_working_day_before() -> None:
    d = dossier_in("processing_district")  # step 1 at the district, due Wednesday 11 March
    assert reminder_of(d, 7) is None  # Monday 9 March: two working days left
    decision = detect_due_soon(d, context(later(8)), 1)  # Tuesday 10 March
    assert decision is not None
    [reminder] = decision.facts
    assert isinstance(reminder, StepDueSoon)
    assert (reminder.step_index, reminder.unit, reminder.due_date) == (
        1,
        DISTRICT_COMMITTEE,
        day(11),
    )
    assert reminder.working_days_left == 1
    assert (reminder.state, reminder.holding_unit) == (DossierState.PROCESSING, DISTRICT_COMMITTEE)
    assert reminder.detected_at == later(8)
    assert decision.dossier.step.due_soon_raised and not d.step.due_soon_raised  # no mutation
    # Never again for this step: not later the same day, not on the due date.
    assert detect_due_soon(decision.dossier, context(later(8.2)), 1) is None
    assert detect_due_soon(decision.dossier, context(later(9)), 1) is None
    # The overdue rule still raises its own fact once the date has passed.
    late = detect_deadlines(decision.dossier, context(later(10)), 1)
    assert late is not None and [type(f) for f in late.facts] == [StepOverdue]


def test_a_wider_window_reminds_earlier_and_zero_disables() -> None:
    d = dossier_in("processing_district")
    early = reminder_of(d, 7, within=2)
    assert early is not None and early.working_days_left == 2
    assert reminder_of(d, 8, within=0) is None
    assert detect_deadlines(d, context(later(8)), 0) is None


def test_a_step_first_seen_late_is_overdue_not_due_soon() -> None:
    d = dossier_in("processing_district")
    decision = detect_deadlines(d, context(later(10)), 1)  # Thursday 12 March
    assert decision is not None
    assert [type(f) for f in decision.facts] == [StepOverdue]
    assert not decision.dossier.step.due_soon_raised


def test_a_pending_hand_over_reminds_the_receiver() -> None:
    d = dossier_in("in_transfer")  # step 1 requested Monday, due Wednesday 11 March
    reminder = reminder_of(d, 8)
    assert reminder is not None
    assert (reminder.unit, reminder.holding_unit) == (DISTRICT_COMMITTEE, TAN_HOA_DESK)
    assert reminder.state is DossierState.IN_TRANSFER


def test_no_reminder_while_the_clock_is_paused() -> None:
    d = dossier_in("processing_district")
    ask = RequestSupplement(
        dossier_code=d.code, unit=DISTRICT_COMMITTEE, missing_documents=["map"], reason="r"
    )
    paused = act(d, ask, later(1)).dossier
    assert paused.state is DossierState.SUPPLEMENT_REQUESTED
    assert detect_deadlines(paused, context(later(8)), 1) is None
    assert detect_deadlines(paused, context(later(9)), 1) is None
    # Provided on Thursday 12 March: 7 paused working days push the step to Friday 20.
    give = ProvideSupplement(dossier_code=d.code, unit=TAN_HOA_DESK, documents=[document("map")])
    resumed = act(paused, give, later(10)).dossier
    assert resumed.step.due_date == day(20)
    assert reminder_of(resumed, 16) is None  # Wednesday 18 March: two working days left
    reminder = reminder_of(resumed, 17)  # Thursday 19 March
    assert reminder is not None and reminder.due_date == day(20)


def test_no_reminder_once_out_of_routing_hands() -> None:
    for name in ("result_ready", "done", "stopped"):
        assert detect_deadlines(dossier_in(name), context(later(1)), 5) is None
    d = dossier_in("processing_district")
    withdrawal = DossierWithdrawn(
        dossier_code=d.code,
        state=DossierState.WITHDRAWN,
        holding_unit=d.holding_unit,
        withdrawn_at=later(1),
    )
    withdrawn = decide_withdraw(d, withdrawal, context(later(1))).dossier
    assert detect_deadlines(withdrawn, context(later(8)), 1) is None


def test_a_step_reopened_after_a_refused_hand_over_is_not_reminded_again() -> None:
    d = start().dossier  # step 0 at the desk, due Tuesday 3 March: due soon at once
    first = detect_due_soon(d, context(later(0.1)), 1)
    assert first is not None
    sent = act(first.dossier, complete(d, TAN_HOA_DESK), later(0.2)).dossier
    refuse = RefuseTransfer(dossier_code=d.code, unit=DISTRICT_COMMITTEE, reason="thiếu bản đồ")
    back = act(sent, refuse, later(0.3)).dossier
    assert (back.current_step, back.state) == (0, DossierState.PROCESSING)
    assert detect_due_soon(back, context(later(1)), 1) is None


def test_a_reminder_and_a_late_dossier_come_in_one_decision() -> None:
    d = start().dossier.model_copy(update={"appointment_date": day(2)})
    decision = detect_deadlines(d, context(later(1)), 1)  # Tuesday: step 0 due today
    assert decision is not None
    soon, late = decision.facts
    assert isinstance(soon, StepDueSoon) and soon.working_days_left == 0
    assert isinstance(late, DossierOverdue)
    assert decision.dossier.step.due_soon_raised and decision.dossier.overdue_raised
