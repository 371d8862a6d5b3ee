"""Fees and financial obligations: the holding unit asks, the payment is confirmed.

While the applicant pays, the clock stands still, as for a supplement: the time to pay
is the applicant's, not the unit's (legal basis in docs/legal.md). Confirmation comes
from the holding unit (a desk receipt) or from a payment gateway's callback acting for
it; the amount must be the one requested. A payment made after the cut-off counts from
the next working day.
"""

from __future__ import annotations

from routing.domain.deadlines import paused_working_days
from routing.domain.guards import allow, fact_base
from routing.domain.model import Context, Decision, Dossier, PaymentPause
from routing.domain.state_machine import Action, ActionRefused, RefusalCode
from routing.domain.supplements import resume_clock
from shared.events.commands import ConfirmPayment, RequestPayment
from shared.events.pauses import PaymentReceived, PaymentRequested


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
    d = dossier.copy_to_decide()
    assert d.payment is not None
    paid_at = min(cmd.paid_at or ctx.now, ctx.now)
    paid_at = max(paid_at, d.payment.requested_at)
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
