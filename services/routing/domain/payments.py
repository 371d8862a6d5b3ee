"""Fees and financial obligations: the holding unit asks, the payment is confirmed.

While the applicant pays, the clock stands still, as for a supplement: the time to pay
is the applicant's, not the unit's (legal basis in docs/legal.md). Confirmation comes
from the holding unit (a desk receipt) or from a payment gateway's callback acting for
it; the amount must be the one requested, and the time it was paid (``paid_at``, default
the confirmation) must lie between the request and now: a payment before it was asked
for, or one in the future, is refused (``invalid_paid_at``), not moved to the nearest
possible time, which would record a date nobody gave. Only clocks' and typed times'
imprecision is forgiven: a time within ``PAID_AT_TOLERANCE`` of the span is taken as
its end. A payment made after the cut-off counts from the next working day.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from routing.domain.deadlines import paused_working_days
from routing.domain.guards import allow, fact_base
from routing.domain.model import Context, Decision, Dossier, PaymentPause
from routing.domain.state_machine import Action, ActionRefused, RefusalCode
from routing.domain.supplements import resume_clock
from shared.events.commands import ConfirmPayment, RequestPayment
from shared.events.pauses import PaymentReceived, PaymentRequested

# A gateway's clock may run a little ahead of routing's, and a desk types the minute it
# was paid (10:05 for a payment asked at 10:05:30): that much is imprecision, not a date.
PAID_AT_TOLERANCE = timedelta(minutes=1)


def decide_request_payment(dossier: Dossier, cmd: RequestPayment, ctx: Context) -> Decision:
    """The applicant must pay ``amount_vnd``; the dossier waits (AWAITING_PAYMENT)."""
    state = allow(dossier, Action.REQUEST_PAYMENT, cmd.unit, ctx)
    d = dossier.copy_to_decide()
    d.state = state
    d.payment = PaymentPause(
        requested_at=ctx.now, unit=cmd.unit, amount_vnd=cmd.amount_vnd, description=cmd.description
    )
    requested = PaymentRequested(
        **fact_base(d),
        unit=cmd.unit,
        amount_vnd=cmd.amount_vnd,
        requested_at=ctx.now,
        description=cmd.description,
    )
    return Decision(d, (requested,))


def decide_confirm_payment(dossier: Dossier, cmd: ConfirmPayment, ctx: Context) -> Decision:
    """The payment arrived: the clock resumes, due dates move back by the days it stood."""
    state = allow(dossier, Action.CONFIRM_PAYMENT, cmd.unit, ctx)
    assert dossier.payment is not None  # AWAITING_PAYMENT always has an open request
    if cmd.amount_vnd != dossier.payment.amount_vnd:
        raise ActionRefused(
            RefusalCode.PAYMENT_MISMATCH,
            f"{cmd.amount_vnd} VND paid, {dossier.payment.amount_vnd} VND requested",
        )
    paid_at = paid_at_of(cmd, dossier.payment.requested_at, ctx)
    d = dossier.copy_to_decide()
    assert d.payment is not None
    paused = paused_working_days(ctx.calendar, d.payment.requested_at, paid_at, d.cutoff)
    resume_clock(d, paused, ctx)
    d.state, d.payment = state, None
    received = PaymentReceived(
        **fact_base(d),
        unit=cmd.unit,
        amount_vnd=cmd.amount_vnd,
        received_at=paid_at,
        reference=cmd.reference,
        method=cmd.method,
        paused_working_days=paused,
        step_due_date=d.step.due_date,
        appointment_date=d.appointment_date,
        calendar_version=ctx.calendar.provenance,
    )
    return Decision(d, (received,))


def paid_at_of(cmd: ConfirmPayment, requested_at: datetime, ctx: Context) -> datetime:
    """When the payment was made: ``cmd.paid_at`` (default now), within the request..now
    span give or take ``PAID_AT_TOLERANCE`` (then the span's end), else refused."""
    paid_at = cmd.paid_at or ctx.now
    if not requested_at - PAID_AT_TOLERANCE <= paid_at <= ctx.now + PAID_AT_TOLERANCE:
        raise ActionRefused(
            RefusalCode.INVALID_PAID_AT,
            f"paid_at {paid_at.isoformat()} is not between the payment request "
            f"({requested_at.isoformat()}) and now ({ctx.now.isoformat()})",
            field="paid_at",
        )
    return min(max(paid_at, requested_at), ctx.now)
