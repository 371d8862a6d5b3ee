"""Deadlines: step and appointment due dates in working days, pauses, overdue detection.

Rules (see docs/routing.md):

* a step's due date is ``calendar.due_date(started_at, budget_days, cutoff)``: the step
  starts when the dossier is received (step 0) or when the hand-over to its unit is
  requested (later steps), and a start after the cut-off counts from the next working
  day;
* a supplement request pauses the clock: when the supplement is provided, the working
  days in between push the current step's due date and the appointment date back;
* a step is overdue once the local date is after its due date, the dossier once the
  local date is after its appointment date; each is raised once, and never while the
  clock is paused or after the dossier left routing's hands (done, stopped, withdrawn);
* a step is due soon while its due date is at most ``within_days`` working days away
  and not passed; raised once per step under the same conditions (0 disables it);
* an overdue dossier gets a new appointment date: today plus the remaining budget (the
  current step's days left, at least one, and the budgets of the steps after it),
  with the data of the apology letter (form Mẫu 04) issued by the unit it is stuck at.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from routing.domain.model import Context, Decision, Dossier
from shared.calendar import WorkingCalendar
from shared.events.dossier import (
    ApologyNotice,
    DossierFact,
    DossierOverdue,
    DossierState,
    StepDueSoon,
    StepOverdue,
)

CLOCK_RUNNING = frozenset({DossierState.PROCESSING, DossierState.IN_TRANSFER})
"""States in which deadlines run and overdue is raised."""

Lateness = Literal["late", "nearly_late"]


def paused_working_days(calendar: WorkingCalendar, since: datetime, until: datetime) -> int:
    """Working days the clock stood still between two moments (local dates, ``(a, b]``)."""
    return max(
        0, calendar.working_days_between(calendar.local_date(since), calendar.local_date(until))
    )


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
    """The appointment date given to a late dossier."""
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
    today, d = ctx.today, dossier.model_copy(deep=True)
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
        new_date = new_appointment_date(ctx.calendar, d, today)
        apology = ApologyNotice(
            issuing_unit=unit,
            reason=(
                f"Hồ sơ {d.code} quá hạn giải quyết (hẹn trả {d.appointment_date.isoformat()}); "
                f"đang xử lý tại bước {step.index + 1}: {step.name}."
            ),
            original_appointment_date=d.appointment_date,
            new_appointment_date=new_date,
        )
        facts.append(
            DossierOverdue(
                **base,
                appointment_date=d.appointment_date,
                new_appointment_date=new_date,
                detected_at=ctx.now,
                apology=apology,
            )
        )
        d.overdue_raised = True
        d.appointment_date = new_date
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
    d = dossier.model_copy(deep=True)
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
