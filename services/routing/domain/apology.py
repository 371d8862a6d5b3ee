"""The apology and new appointment (Mẫu 04), issued by the unit that will be late.

The unit responsible for the current step (its holder, or the receiver of a pending
hand-over) issues it before the appointment passes (at the latest on the appointment
day), with its reason and the new date it proposes: a working day after the current
appointment. The new date becomes the appointment; a second apology is allowed (each is
numbered), and a dossier that then misses the new date is flagged when it does.
"""

from __future__ import annotations

from routing.domain.guards import allow, fact_base
from routing.domain.model import Context, Decision, Dossier
from routing.domain.state_machine import Action, ActionRefused, RefusalCode
from shared.events.commands import IssueApology
from shared.events.dossier import ApologyIssued, ApologyNotice


def check_new_date(dossier: Dossier, cmd: IssueApology, ctx: Context) -> None:
    """Before the appointment, for a later working day."""
    if ctx.today > dossier.appointment_date:
        raise ActionRefused(
            RefusalCode.APOLOGY_TOO_LATE,
            f"the appointment {dossier.appointment_date:%d/%m/%Y} has passed: Mẫu 04 is "
            "issued before it",
        )
    new = cmd.new_appointment_date
    # A day beyond the calendar's years is no working day it can vouch for (and asking
    # would raise): the same refusal, not an error.
    if (
        new <= dossier.appointment_date
        or not ctx.calendar.covers(new)
        or not ctx.calendar.is_working_day(new)
    ):
        raise ActionRefused(
            RefusalCode.INVALID_NEW_DATE,
            f"the new date {new:%d/%m/%Y} must be a working day after the appointment "
            f"{dossier.appointment_date:%d/%m/%Y}, within the working-day calendar",
        )


def decide_apology(dossier: Dossier, cmd: IssueApology, ctx: Context) -> Decision:
    """Record the apology; its new date becomes the appointment."""
    allow(dossier, Action.APOLOGISE, cmd.unit, ctx)
    check_new_date(dossier, cmd, ctx)
    d = dossier.copy_to_decide()
    notice = ApologyNotice(
        issuing_unit=cmd.unit,
        reason=cmd.reason,
        original_appointment_date=d.appointment_date,
        new_appointment_date=cmd.new_appointment_date,
        number=len(d.apologies) + 1,
        issued_at=ctx.now,
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
