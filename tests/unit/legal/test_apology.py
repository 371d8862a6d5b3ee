"""Mẫu 04: the late unit apologises before the appointment with its reason and a new date.

Worked dates: a judicial record received Monday 2 March 2026 10:00 is due 16 March; the
justice department holds it from Tuesday 3 March (its step due 13 March).
"""

from __future__ import annotations

from datetime import date

import pytest
from routing.domain.deadlines import detect_deadlines, detect_overdue
from routing.domain.model import Dossier
from routing.domain.state_machine import ActionRefused, RefusalCode

from shared.events.commands import CompleteStep, IssueApology
from shared.events.deadlines import ApologyIssued, DossierOverdue, StepDueSoon
from shared.events.dossier import StepOutcome
from tests.unit.legal.builders import (
    CONFIGURATIONS,
    UNITS,
    act,
    at,
    at_department,
    context,
    d,
    received,
    start,
)


def apology(
    dossier: Dossier, unit: str, new: tuple[int, int], reason: str = "Chờ xác minh"
) -> IssueApology:
    return IssueApology(
        dossier_code=dossier.code, unit=unit, reason=reason, new_appointment_date=d(*new)
    )


@pytest.mark.parametrize("configuration", CONFIGURATIONS)
def test_the_step_due_soon_reminder_names_the_appointment(configuration: str) -> None:
    dossier = at_department(configuration)
    decision = detect_deadlines(dossier, context(at(3, 12, 8), configuration), due_soon_days=1)
    assert decision is not None
    [soon] = decision.facts
    assert isinstance(soon, StepDueSoon)
    assert (soon.unit, soon.due_date, soon.working_days_left) == (
        UNITS[configuration].justice,
        d(3, 13),
        1,
    )
    assert soon.appointment_date == d(3, 16)


@pytest.mark.parametrize("configuration", CONFIGURATIONS)
def test_the_late_unit_apologises_before_the_appointment(configuration: str) -> None:
    dossier = at_department(configuration)
    justice = UNITS[configuration].justice
    cmd = apology(dossier, justice, (3, 20), "Cần xác minh thông tin lý lịch tại địa phương khác")
    decision = act(dossier, cmd, at(3, 12, 9), configuration)
    [issued] = decision.facts
    assert isinstance(issued, ApologyIssued)
    notice = issued.apology
    assert (notice.form, notice.number, notice.issuing_unit) == ("Mẫu 04", 1, justice)
    assert notice.reason == "Cần xác minh thông tin lý lịch tại địa phương khác"
    assert (notice.original_appointment_date, notice.new_appointment_date) == (d(3, 16), d(3, 20))
    assert decision.dossier.appointment_date == d(3, 20)
    assert issued.portal_status == 4 and issued.calendar_version is not None


@pytest.mark.parametrize("configuration", CONFIGURATIONS)
def test_a_second_apology_is_allowed_and_numbered(configuration: str) -> None:
    dossier = at_department(configuration)
    justice = UNITS[configuration].justice
    first = act(dossier, apology(dossier, justice, (3, 20)), at(3, 12), configuration).dossier
    second = act(first, apology(first, justice, (3, 27)), at(3, 19), configuration)
    [issued] = second.facts
    assert isinstance(issued, ApologyIssued)
    assert issued.apology.number == 2
    assert issued.apology.original_appointment_date == d(3, 20)
    assert second.dossier.appointment_date == d(3, 27)


@pytest.mark.parametrize("configuration", CONFIGURATIONS)
@pytest.mark.parametrize(
    ("issued", "late"),
    [
        ((3, 12, 9), False),  # Thursday, two working days before Monday 16/03
        ((3, 13, 17), False),  # Friday: one working day before, the last day on time
        ((3, 14, 10), True),  # Saturday: after the last working day before
        ((3, 16, 8), True),  # the appointment day itself
    ],
)
def test_an_apology_is_due_one_working_day_before_the_appointment(
    configuration: str, issued: tuple[int, int, int], late: bool
) -> None:
    dossier = at_department(configuration)
    justice = UNITS[configuration].justice
    [fact] = act(dossier, apology(dossier, justice, (3, 20)), at(*issued), configuration).facts
    assert isinstance(fact, ApologyIssued)
    assert (fact.apology.due_by, fact.apology.late) == (d(3, 13), late)


@pytest.mark.parametrize("configuration", CONFIGURATIONS)
def test_an_apology_after_the_appointment_is_taken_and_recorded_late(configuration: str) -> None:
    """The unit that missed the date still owes the applicant an apology and a new date."""
    dossier = at_department(configuration)
    justice = UNITS[configuration].justice
    overdue = detect_overdue(dossier, context(at(3, 17, 8), configuration))
    assert overdue is not None
    dossier = overdue.dossier
    decision = act(dossier, apology(dossier, justice, (3, 24)), at(3, 18, 9), configuration)
    [issued] = decision.facts
    assert isinstance(issued, ApologyIssued)
    assert issued.apology.late and issued.apology.due_by == d(3, 13)
    assert (issued.apology.original_appointment_date, decision.dossier.appointment_date) == (
        d(3, 16),
        d(3, 24),
    )
    # The new date, missed too, is flagged when it passes.
    missed = detect_overdue(decision.dossier, context(at(3, 25), configuration))
    assert missed is not None
    flagged = missed.facts[-1]
    assert isinstance(flagged, DossierOverdue) and flagged.missed_new_date
    # A new date already past is no new date.
    with pytest.raises(ActionRefused) as refused:
        act(dossier, apology(dossier, justice, (3, 17)), at(3, 18, 9), configuration)
    assert refused.value.code is RefusalCode.INVALID_NEW_DATE
    assert refused.value.field == "new_appointment_date"


@pytest.mark.parametrize(
    ("new", "why"),
    [((3, 16), "not after the appointment"), ((3, 21), "a Saturday"), ((3, 10), "earlier")],
)
def test_the_new_date_is_a_later_working_day(new: tuple[int, int], why: str) -> None:
    dossier = at_department("three-level")
    with pytest.raises(ActionRefused) as refused:
        act(dossier, apology(dossier, "000.00.04.H59", new), at(3, 12), "three-level")
    assert refused.value.code is RefusalCode.INVALID_NEW_DATE, why


@pytest.mark.parametrize("new", [date(2099, 3, 20), date(9000, 12, 29)])  # 9999: by the contract
def test_a_new_date_beyond_the_calendar_is_refused_not_an_error(new: date) -> None:
    """A Friday in 9999 may be a working day, but the calendar cannot say: asking it
    raised, and the apology answered 500 (on the topic: a failing event)."""
    dossier = at_department("three-level")
    cmd = IssueApology(
        dossier_code=dossier.code, unit="000.00.04.H59", reason="x", new_appointment_date=new
    )
    with pytest.raises(ActionRefused) as refused:
        act(dossier, cmd, at(3, 12), "three-level")
    assert refused.value.code is RefusalCode.INVALID_NEW_DATE


def test_only_the_unit_responsible_for_the_step_apologises() -> None:
    dossier = at_department("three-level")
    with pytest.raises(ActionRefused) as refused:
        act(dossier, apology(dossier, "001.21.31.H59", (3, 20)), at(3, 12), "three-level")
    assert refused.value.code is RefusalCode.NOT_RESPONSIBLE_UNIT


def test_during_a_hand_over_the_receiver_apologises_not_the_sender() -> None:
    dossier = start(received("three-level", at(3, 2, 10)), "three-level")
    sent = act(
        dossier,
        CompleteStep(dossier_code=dossier.code, unit="001.21.31.H59", outcome=StepOutcome.APPROVE),
        at(3, 3, 10),
        "three-level",
    ).dossier
    with pytest.raises(ActionRefused):
        act(sent, apology(sent, "001.21.31.H59", (3, 20)), at(3, 4), "three-level")
    decision = act(sent, apology(sent, "000.00.04.H59", (3, 20)), at(3, 4), "three-level")
    assert decision.dossier.apologies[0].issuing_unit == "000.00.04.H59"


@pytest.mark.parametrize("configuration", CONFIGURATIONS)
def test_late_without_apology_then_a_missed_new_date_are_flagged(configuration: str) -> None:
    dossier = at_department(configuration)
    justice = UNITS[configuration].justice
    # Without an apology: flagged once, nothing invented.
    plain = detect_overdue(dossier, context(at(3, 17), configuration))
    assert plain is not None
    late = plain.facts[-1]
    assert isinstance(late, DossierOverdue)
    assert (late.apologised, late.missed_new_date, late.apology) == (False, False, None)
    # With an apology for 20 March that is missed too.
    moved = act(dossier, apology(dossier, justice, (3, 20)), at(3, 12), configuration).dossier
    assert detect_overdue(moved, context(at(3, 20, 16), configuration)) is not None  # step only
    missed = detect_overdue(moved, context(at(3, 23), configuration))
    assert missed is not None
    flagged = missed.facts[-1]
    assert isinstance(flagged, DossierOverdue)
    assert flagged.appointment_date == d(3, 20)
    assert flagged.apologised and flagged.missed_new_date and flagged.unit == justice
