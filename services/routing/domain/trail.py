"""The dossier's history: recording what happened, and the trail read view built from it.

The trail answers "who held the dossier when, and for how long": every step with its
unit, times and duration, every custody period, every hand-over with its receipt,
and every fact in order.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel

from routing.domain.history import DetailCode, DetailParams, HistoryEntry, detail_text
from routing.domain.model import Context, Decision, Dossier, Holding, Step, TransferRecord
from shared.calendar import LOCAL_TZ, WorkingCalendar
from shared.events.closing import DossierDone, DossierStopped, ResultReady
from shared.events.deadlines import ApologyIssued, DossierOverdue, StepDueSoon, StepOverdue
from shared.events.dossier import DossierFact
from shared.events.handover import (
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


def trail_detail(fact: DossierFact) -> tuple[DetailCode, DetailParams] | None:
    """What the trail says about ``fact``: a stable code and its parameters (dates as
    ISO strings, amounts and numbers as integers, free text as written), or None."""
    match fact:
        case TransferRequested():
            return "transfer_requested", {
                "step_index": fact.step_index,
                "from_unit": fact.from_unit,
                "to_unit": fact.to_unit,
                "step_due_date": fact.step_due_date.isoformat(),
            }
        case TransferAccepted():
            return "transfer_accepted", {
                "step_index": fact.step_index,
                "receipt_id": fact.receipt.receipt_id,
            }
        case TransferRefused():
            return "transfer_refused", {"reason": fact.reason}
        case DossierStopped():
            return "stopped", {"reason": fact.reason}
        case StepCompleted():
            return "step_completed", {"step_index": fact.step_index, "outcome": fact.outcome.value}
        case SupplementRequested() if fact.repeated:
            return "supplement_requested_again", {
                "reason": fact.reason,
                "request_number": fact.request_number,
            }
        case SupplementRequested():
            return "supplement_requested", {"reason": fact.reason}
        case SupplementProvided():
            return "supplement_provided", {"paused_working_days": fact.paused_working_days}
        case StepDueSoon():
            return "step_due_soon", {
                "step_index": fact.step_index,
                "due_date": fact.due_date.isoformat(),
                "working_days_left": fact.working_days_left,
            }
        case StepOverdue():
            return "step_overdue", {
                "step_index": fact.step_index,
                "due_date": fact.due_date.isoformat(),
            }
        case DossierOverdue():
            code: DetailCode = (
                "appointment_passed_new_date_missed"
                if fact.missed_new_date
                else "appointment_passed"
            )
            return code, {"appointment_date": fact.appointment_date.isoformat()}
        case ApologyIssued() if fact.apology.late and fact.apology.due_by is not None:
            notice, due_by = fact.apology, fact.apology.due_by
            return "apology_issued_late", {
                "number": notice.number,
                "new_appointment_date": notice.new_appointment_date.isoformat(),
                "due_date": due_by.isoformat(),
            }
        case ApologyIssued():
            notice = fact.apology
            return "apology_issued", {
                "number": notice.number,
                "new_appointment_date": notice.new_appointment_date.isoformat(),
            }
        case PaymentRequested():
            return "payment_requested", {
                "amount_vnd": fact.amount_vnd,
                "description": fact.description or "",
            }
        case PaymentReceived():
            return "payment_received", {
                "amount_vnd": fact.amount_vnd,
                "reference": fact.reference or "",
            }
        case ResultReady() if fact.late is not None:
            return "result_ready", {"lateness": "late" if fact.late else "on_time"}
        case DossierDone():
            ready = fact.result_ready_at or fact.done_at
            after = fact.collected_after_appointment
            return "result_returned", {
                "lateness": "late" if fact.late else "on_time",
                "ready_date": ready.astimezone(LOCAL_TZ).date().isoformat(),
                "collection": "after_appointment" if after else "by_appointment",
            }
        case WithdrawalDeclined():
            return "withdrawal_declined", {
                "requested_date": fact.requested_at.astimezone(LOCAL_TZ).date().isoformat(),
                "reason_code": fact.reason_code,
            }
    return None


def recorded(
    decision: Decision,
    ctx: Context,
    *,
    actor: str | None = None,
    command_id: str | None = None,
    cause_type: str | None = None,
) -> Decision:
    """The decision with its facts (or, if none, its cause) appended to the history."""
    d = decision.dossier
    for fact in decision.facts:
        unit = getattr(fact, "unit", None) or getattr(fact, "to_unit", None)
        said = trail_detail(fact)
        d.history.append(
            HistoryEntry(
                at=ctx.now,
                event=fact.EVENT_TYPE,
                state=fact.state,
                holding_unit=fact.holding_unit,
                unit=unit,
                actor=actor,
                command_id=command_id,
                detail=detail_text(*said) if said else None,
                detail_code=said[0] if said else None,
                detail_params=said[1] if said else None,
            )
        )
    if not decision.facts and cause_type is not None:
        d.history.append(
            HistoryEntry(
                at=ctx.now,
                event=cause_type,
                state=d.state,
                holding_unit=d.holding_unit,
                actor=actor,
                command_id=command_id,
            )
        )
    return decision


StepStatus = Literal["pending", "in_transfer", "active", "completed", "skipped"]


class TrailStep(BaseModel):
    """A step as it ran."""

    index: int
    name: str
    name_en: str
    unit: str
    redirected_from: str | None
    budget_days: int
    status: StepStatus
    started_at: datetime | None
    accepted_at: datetime | None
    completed_at: datetime | None
    due_date: date | None
    outcome: str | None
    overdue: bool
    paused_working_days: int
    duration_seconds: float | None
    working_days_used: int | None


class TrailHolding(BaseModel):
    """A custody period."""

    unit: str
    step_index: int
    how: str
    since: datetime
    until: datetime | None
    duration_seconds: float
    working_days: int


class Trail(BaseModel):
    """Everything that happened to one dossier in routing."""

    dossier_code: str
    procedure_code: str
    procedure_name: str
    state: str
    holding_unit: str
    received_at: datetime
    original_appointment_date: date
    appointment_date: date
    closed_at: datetime | None
    steps: list[TrailStep]
    holdings: list[TrailHolding]
    transfers: list[TransferRecord]
    events: list[HistoryEntry]


def _status(d: Dossier, step: Step) -> StepStatus:
    if step.skipped:
        return "skipped"
    if step.completed_at is not None:
        return "completed"
    if d.transfer is not None and d.transfer.step_index == step.index:
        return "in_transfer"
    return "active" if step.index == d.current_step and step.started_at else "pending"


def build_trail(d: Dossier, calendar: WorkingCalendar, now: datetime) -> Trail:
    """The trail of ``d`` as of ``now`` (open periods run until ``now``)."""

    def days(since: datetime, until: datetime) -> int:
        return max(
            0, calendar.working_days_between(calendar.local_date(since), calendar.local_date(until))
        )

    def step_view(step: Step) -> TrailStep:
        duration: float | None = None
        used: int | None = None
        if step.started_at is not None:
            end = step.completed_at or d.closed_at or now
            duration = (end - step.started_at).total_seconds()
            used = days(step.started_at, end)
        return TrailStep(
            index=step.index,
            name=step.name,
            name_en=step.name_en,
            unit=step.unit,
            redirected_from=step.redirected_from,
            budget_days=step.budget_days,
            status=_status(d, step),
            started_at=step.started_at,
            accepted_at=step.accepted_at,
            completed_at=step.completed_at,
            due_date=step.due_date,
            outcome=step.outcome.value if step.outcome else None,
            overdue=step.overdue_raised,
            paused_working_days=step.paused_working_days,
            duration_seconds=duration,
            working_days_used=used,
        )

    def holding_view(h: Holding) -> TrailHolding:
        until = h.until or now
        return TrailHolding(
            unit=h.unit,
            step_index=h.step_index,
            how=h.how,
            since=h.since,
            until=h.until,
            duration_seconds=(until - h.since).total_seconds(),
            working_days=days(h.since, until),
        )

    return Trail(
        dossier_code=d.code,
        procedure_code=d.procedure_code,
        procedure_name=d.procedure_name,
        state=d.state.value,
        holding_unit=d.holding_unit,
        received_at=d.received_at,
        original_appointment_date=d.original_appointment_date,
        appointment_date=d.appointment_date,
        closed_at=d.closed_at,
        steps=[step_view(s) for s in d.steps],
        holdings=[holding_view(h) for h in d.holdings],
        transfers=list(d.transfers),
        events=list(d.history),
    )
