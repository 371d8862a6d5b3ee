"""Deadlines add up: hand-overs never push the appointment, steps are capped by it, units rated.

Worked example of the issue: a judicial record certificate (1 + 8 + 1 working days)
received Monday 2 March 2026 at 10:00 is due Monday 16 March; each unit handing over at
16:00 on its own due date keeps it on time (before, the cut-off applied at every
hand-over gave the last step 18 March).
"""

from __future__ import annotations

import pytest
from routing.domain.deadlines import step_limit, step_rating

from shared.events.commands import CompleteStep
from shared.events.dossier import StepOutcome
from shared.events.handover import StepCompleted, TransferRequested
from tests.unit.legal.builders import (
    CONFIGURATIONS,
    UNITS,
    act,
    at,
    calendar,
    d,
    hand_over,
    received,
    start,
)


@pytest.mark.parametrize("configuration", CONFIGURATIONS)
def test_hand_overs_at_16h_on_each_due_date_keep_the_appointment(configuration: str) -> None:
    dossier = start(received(configuration, at(3, 2, 10)), configuration)
    assert dossier.appointment_date == d(3, 16)
    assert dossier.step.due_date == d(3, 3)
    dossier = hand_over(dossier, at(3, 3, 16), configuration)
    assert dossier.holding_unit == UNITS[configuration].justice
    assert dossier.step.due_date == d(3, 13)  # 8 days from Tuesday itself, no cut-off
    dossier = hand_over(dossier, at(3, 13, 16), configuration)
    assert dossier.step.due_date == d(3, 16) == dossier.appointment_date
    assert [step_rating(calendar(), s, d(3, 16)) for s in dossier.steps] == [
        "on_time",
        "on_time",
        "in_progress",
    ]


@pytest.mark.parametrize("configuration", CONFIGURATIONS)
def test_a_step_never_exceeds_what_the_appointment_allows(configuration: str) -> None:
    dossier = start(received(configuration, at(3, 2, 10)), configuration)
    # The desk is two days late: it hands over on Thursday 5 March instead of Tuesday.
    late_desk = act(
        dossier,
        CompleteStep(
            dossier_code=dossier.code, unit=dossier.holding_unit, outcome=StepOutcome.APPROVE
        ),
        at(3, 5, 11),
        configuration,
    )
    completed, transfer = late_desk.facts
    assert isinstance(completed, StepCompleted) and completed.on_time is False
    assert isinstance(transfer, TransferRequested)
    # Own budget would reach 17 March; the appointment leaves the department until 13 March.
    assert calendar().add_working_days(d(3, 5), 8) == d(3, 17)
    assert transfer.step_due_date == d(3, 13) == step_limit(calendar(), late_desk.dossier, 1)
    assert transfer.calendar_version == calendar().provenance


@pytest.mark.parametrize("configuration", CONFIGURATIONS)
def test_an_early_unit_does_not_give_its_spare_days_to_the_next(configuration: str) -> None:
    dossier = start(received(configuration, at(3, 2, 10)), configuration)
    dossier = hand_over(dossier, at(3, 2, 11), configuration)  # desk done the same morning
    assert dossier.step.due_date == d(3, 12)  # 8 days from Monday, before the 13 March limit
    dossier = hand_over(dossier, at(3, 4, 9), configuration)  # department done in two days
    assert dossier.step.due_date == d(3, 5)  # the desk's own 1 day
    ratings = [step_rating(calendar(), s, d(3, 4)) for s in dossier.steps]
    assert ratings == ["on_time", "on_time", "in_progress"]


@pytest.mark.parametrize("configuration", CONFIGURATIONS)
def test_a_late_unit_is_rated_late_and_the_next_one_inherits_only_the_limit(
    configuration: str,
) -> None:
    dossier = start(received(configuration, at(3, 2, 10)), configuration)
    dossier = hand_over(dossier, at(3, 3, 10), configuration)
    dossier = hand_over(dossier, at(3, 16, 9), configuration)  # department due 13 March
    assert [s.due_date for s in dossier.steps] == [d(3, 3), d(3, 13), d(3, 16)]
    assert step_rating(calendar(), dossier.steps[1], d(3, 16)) == "late"
    assert step_rating(calendar(), dossier.steps[2], d(3, 16)) == "in_progress"
    assert step_rating(calendar(), dossier.steps[2], d(3, 17)) == "overdue"


@pytest.mark.parametrize("configuration", CONFIGURATIONS)
def test_a_hand_over_on_a_day_off_counts_from_the_next_working_day(configuration: str) -> None:
    dossier = start(received(configuration, at(2, 12, 10)), configuration)  # Thursday before Tết
    assert dossier.appointment_date == d(3, 5)  # 10 working days, Tết 16-20 February off
    dossier = hand_over(dossier, at(2, 14, 10), configuration)  # Saturday: day 0 is Monday 23
    assert calendar().add_working_days(d(2, 23), 8) == d(3, 5)  # its own budget
    assert dossier.step.due_date == d(3, 4)  # capped: the desk's last day is 5 March
