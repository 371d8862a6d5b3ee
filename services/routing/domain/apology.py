"""The apology and new appointment (Mẫu 04), issued by the unit that will be late.

The unit responsible for the current step (its holder, or the receiver of a pending
hand-over) issues it with its reason and the new date it proposes: a working day after
the current appointment, and not before today. It is due at the latest one working day
before the appointment (Decree 61/2018 Art. 19, to confirm: "chậm nhất 01 ngày trước
ngày hết hạn"); one issued later, on the appointment day or after it, is still taken
(the duty to apologise and to give the applicant a new date remains) and recorded as
late (``ApologyNotice.late``). The new date becomes the appointment; a second apology is
allowed (each is numbered), and a dossier that then misses the new date is flagged when
it does.
"""

from __future__ import annotations

from datetime import date

from routing.domain.guards import allow, fact_base
from routing.domain.model import Context, Decision, Dossier
from routing.domain.state_machine import Action, ActionRefused, RefusalCode
from shared.calendar import CalendarError
from shared.events.commands import IssueApology
from shared.events.deadlines import ApologyIssued, ApologyNotice


def apology_due_by(dossier: Dossier, ctx: Context) -> date | None:
    """The last day an apology is on time: one working day before the appointment (None
    for an appointment beyond the calendar, which cannot count working days there)."""
    try:
        return ctx.calendar.subtract_working_days(dossier.appointment_date, 1)
    except CalendarError:
        return None


def check_new_date(dossier: Dossier, cmd: IssueApology, ctx: Context) -> None:
    """A working day after the appointment, not in the past, within the calendar."""
    new = cmd.new_appointment_date
    # A day beyond the calendar's years is no working day it can vouch for (and asking
    # would raise): the same refusal, not an error.
    if (
        new <= dossier.appointment_date
        or new < ctx.today
        or not ctx.calendar.covers(new)
        or not ctx.calendar.is_working_day(new)
    ):
        raise ActionRefused(
            RefusalCode.INVALID_NEW_DATE,
            f"the new date {new:%d/%m/%Y} must be a working day after the appointment "
            f"{dossier.appointment_date:%d/%m/%Y}, not before today, within the working-day "
            "calendar",
            field="new_appointment_date",
        )


def decide_apology(dossier: Dossier, cmd: IssueApology, ctx: Context) -> Decision:
    """Record the apology; its new date becomes the appointment."""
    allow(dossier, Action.APOLOGISE, cmd.unit, ctx)
    check_new_date(dossier, cmd, ctx)
    due_by = apology_due_by(dossier, ctx)
    d = dossier.copy_to_decide()
    notice = ApologyNotice(
        issuing_unit=cmd.unit,
        reason=cmd.reason,
        original_appointment_date=d.appointment_date,
        new_appointment_date=cmd.new_appointment_date,
        number=len(d.apologies) + 1,
        issued_at=ctx.now,
        due_by=due_by,
        late=due_by is None or ctx.today > due_by,
    )
    d.apologies.append(notice)
    d.appointment_date = cmd.new_appointment_date
    d.overdue_raised = False  # the new date can be missed too, and is then flagged
    issued = ApologyIssued(
        **fact_base(d),
        unit=notice.issuing_unit,
        issued_at=ctx.now,
        apology=notice,
        calendar_version=ctx.calendar.provenance,
    )
    return Decision(d, (issued,))
