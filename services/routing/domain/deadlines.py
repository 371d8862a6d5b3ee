"""Deadlines: step and appointment due dates in working days, pauses, overdue detection.

Rules (legal basis in docs/legal.md, behaviour in docs/routing.md):

* the appointment is counted once, at reception, with the procedure's cut-off (if it
  applies): ``calendar.due_date(received_at, total_budget, cutoff)``;
* a step is due after its own budget counted from its start (reception for step 0,
  the hand-over request for later steps) with **no** cut-off: internal hand-overs never
  push the appointment; and never later than what the appointment allows, i.e. the
  appointment minus the budgets of the steps after it (``step_limit``). A unit that
  receives a dossier late therefore has less time, and its rating says so;
* a unit's step is on time when completed on or before its due date (``step_rating``);
* a supplement request or a payment request pauses the clock: when the applicant
  brings the documents or pays, the working days in between push the current step's
  due date and the appointment back; one brought after the cut-off counts from the
  next working day (``paused_working_days``);
* a step is overdue once the local date is after its due date, the dossier once the
  local date is after its appointment date; each is raised once (the dossier once per
  appointment date), never while the clock is paused or after the dossier left
  routing's hands; no apology is made up: the late unit issues Mẫu 04 before the date
  (``apology.py``); the overdue fact says whether it did and whether the date it gave
  was missed too;
* a step is due soon while its due date is at most ``within_days`` working days away
  and not passed; raised once per step under the same conditions (0 disables it), with
  the appointment, so the unit can apologise in time.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Literal

from routing.domain.model import Context, Decision, Dossier, Step
from shared.calendar import WorkingCalendar
from shared.events.deadlines import DossierOverdue, StepDueSoon, StepOverdue
from shared.events.dossier import DossierFact, DossierState

CLOCK_RUNNING = frozenset({DossierState.PROCESSING, DossierState.IN_TRANSFER})
"""States in which deadlines run and overdue is raised."""

Lateness = Literal["late", "nearly_late"]


def paused_working_days(
    calendar: WorkingCalendar, since: datetime, until: datetime, cutoff: time | None = None
) -> int:
    """Working days the clock stood still: ``(day of since, day the applicant came back]``.

    The applicant's return is a reception: after the cut-off (or on a day off) it counts
    from the next working day, which is then paused too.
    """
    back = calendar.reception_day(until, cutoff)
    return max(0, calendar.working_days_between(calendar.local_date(since), back))


def step_limit(calendar: WorkingCalendar, dossier: Dossier, index: int) -> date:
    """The latest due date step ``index`` may have: the appointment minus the later budgets."""
    later = sum(s.budget_days for s in dossier.steps[index + 1 :] if not s.skipped)
    return calendar.subtract_working_days(dossier.appointment_date, later)


def step_due_date(
    calendar: WorkingCalendar, dossier: Dossier, index: int, started_at: datetime
) -> date:
    """Own budget from the start (no cut-off inside the administration), capped by the limit."""
    step = dossier.steps[index]
    start_day = calendar.reception_day(started_at, cutoff=None)
    own = calendar.add_working_days(start_day, step.budget_days)
    return min(own, step_limit(calendar, dossier, index))


StepRating = Literal["on_time", "late", "overdue", "in_progress", "not_started", "skipped"]


def step_rating(calendar: WorkingCalendar, step: Step, today: date) -> StepRating:
    """The unit's rating for one step: completed by its due date or not (or still open)."""
    if step.skipped:
        return "skipped"
    if step.due_date is None:
        return "not_started"
    if step.completed_at is not None:
        done = calendar.local_date(step.completed_at)
        return "on_time" if done <= step.due_date else "late"
    return "overdue" if today > step.due_date else "in_progress"


def responsible_unit(dossier: Dossier) -> str:
    """The unit the current step waits for: the hand-over's receiver, or the holder."""
    return dossier.transfer.to_unit if dossier.transfer is not None else dossier.holding_unit


def remaining_working_days(calendar: WorkingCalendar, dossier: Dossier, today: date) -> int:
    """Budget still needed from ``today``: the current step's days left (>= 1) and the rest."""
    step = dossier.step
    left = 1
    if step.due_date is not None and step.due_date > today:
        left = max(1, calendar.working_days_between(today, step.due_date))
    later = sum(s.budget_days for s in dossier.steps[dossier.current_step + 1 :] if not s.skipped)
    return left + later


def new_appointment_date(calendar: WorkingCalendar, dossier: Dossier, today: date) -> date:
    """A realistic new appointment from ``today`` (suggested to a unit writing Mẫu 04)."""
    return calendar.add_working_days(today, remaining_working_days(calendar, dossier, today))


def classify(due: date | None, today: date, horizon: date) -> Lateness | None:
    """Late after ``due``; nearly late when ``due`` falls on or before ``horizon``."""
    if due is None:
        return None
    if today > due:
        return "late"
    return "nearly_late" if due <= horizon else None


def lateness(
    dossier: Dossier, today: date, horizon: date
) -> tuple[Lateness | None, Lateness | None]:
    """(step, dossier) lateness while the clock runs; (None, None) otherwise."""
    if dossier.state not in CLOCK_RUNNING:
        return None, None
    return (
        classify(dossier.step.due_date, today, horizon),
        classify(dossier.appointment_date, today, horizon),
    )


def detect_overdue(dossier: Dossier, ctx: Context) -> Decision | None:
    """Overdue facts not raised yet for this dossier, with the flags set; None if none."""
    if dossier.state not in CLOCK_RUNNING:
        return None
    today, d = ctx.today, dossier.copy_to_decide()
    facts: list[DossierFact] = []
    base = {"dossier_code": d.code, "state": d.state, "holding_unit": d.holding_unit}
    step, unit = d.step, responsible_unit(d)
    if step.due_date is not None and today > step.due_date and not step.overdue_raised:
        step.overdue_raised = True
        facts.append(
            StepOverdue(
                **base,
                step_index=step.index,
                unit=unit,
                due_date=step.due_date,
                detected_at=ctx.now,
            )
        )
    if today > d.appointment_date and not d.overdue_raised:
        last = d.apologies[-1] if d.apologies else None
        from_apology = last is not None and last.new_appointment_date == d.appointment_date
        facts.append(
            DossierOverdue(
                **base,
                appointment_date=d.appointment_date,
                detected_at=ctx.now,
                unit=unit,
                apologised=last is not None and last.issuing_unit == unit,
                missed_new_date=from_apology,
            )
        )
        d.overdue_raised = True
    if not facts:
        return None
    return Decision(d, tuple(facts))


def due_soon_days_left(
    due: date | None, today: date, within_days: int, calendar: WorkingCalendar
) -> int | None:
    """Working days left before ``due`` when it is at most ``within_days`` away; else None.

    ``today`` on the due date itself leaves 0; a passed date is overdue, not due soon.
    """
    if within_days <= 0 or due is None or today > due:
        return None
    left = calendar.working_days_between(today, due)
    return left if left <= within_days else None


def detect_due_soon(dossier: Dossier, ctx: Context, within_days: int) -> Decision | None:
    """The due-soon reminder for the current step if it is new, with its flag set; else None."""
    if dossier.state not in CLOCK_RUNNING or dossier.step.due_soon_raised:
        return None
    left = due_soon_days_left(dossier.step.due_date, ctx.today, within_days, ctx.calendar)
    if left is None:
        return None
    d = dossier.copy_to_decide()
    step = d.step
    assert step.due_date is not None  # a due-soon step has a date
    step.due_soon_raised = True
    reminder = StepDueSoon(
        dossier_code=d.code,
        state=d.state,
        holding_unit=d.holding_unit,
        step_index=step.index,
        unit=responsible_unit(d),
        due_date=step.due_date,
        working_days_left=left,
        detected_at=ctx.now,
        appointment_date=d.appointment_date,
    )
    return Decision(d, (reminder,))


def detect_deadlines(dossier: Dossier, ctx: Context, due_soon_days: int) -> Decision | None:
    """Every deadline fact not raised yet (step due soon, step and dossier overdue); or None.

    The step rules exclude each other (a passed date is never due soon), so one scan
    raises at most one of them for the current step.
    """
    soon = detect_due_soon(dossier, ctx, due_soon_days)
    current = soon.dossier if soon is not None else dossier
    late = detect_overdue(current, ctx)
    facts = (*(soon.facts if soon else ()), *(late.facts if late else ()))
    if not facts:
        return None
    return Decision(late.dossier if late is not None else current, facts)
