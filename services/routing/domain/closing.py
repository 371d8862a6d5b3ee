"""The end of a dossier's route: result ready, handed over, stopped, or withdrawn."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from routing.domain.deadlines import step_rating
from routing.domain.guards import allow, fact_base
from routing.domain.model import Context, Decision, Dossier
from routing.domain.state_machine import Action, ActionRefused, RefusalCode, next_state
from routing.domain.trail import recorded
from shared.events.closing import DossierDone, DossierStopped, ResultReady
from shared.events.commands import HandOverResult, ReturnResult, StopProcessing
from shared.events.dossier import DossierState, ResultDelivery, StepOutcome
from shared.events.withdrawal import DossierWithdrawn, WithdrawalDeclined, WithdrawalRequested


def agency_late(d: Dossier, ready_on: date) -> bool:
    """Whether the agency was late: the result ready after the appointment as extended by
    pauses (an apology's new date does not excuse it), or an overdue was raised. The day
    the applicant collects the result is theirs, not the agency's."""
    return d.overdue_raised or ready_on > d.due_appointment_date


def decide_return_result(dossier: Dossier, cmd: ReturnResult, ctx: Context) -> Decision:
    """The returning desk has the result ready for the applicant: its step ends here, and
    the agency's timeliness is judged now (not when the applicant collects it)."""
    state = allow(dossier, Action.RETURN_RESULT, cmd.unit, ctx)
    if not dossier.on_final_step:
        raise ActionRefused(
            RefusalCode.NOT_FINAL_STEP,
            f"step {dossier.current_step} is not the returning desk's step; complete it first",
        )
    d = dossier.copy_to_decide()
    d.state, d.outcome = state, d.outcome or "approved"
    d.result_ready_at = ctx.now
    step = d.step
    step.completed_at, step.outcome = ctx.now, StepOutcome.APPROVE
    ready = ResultReady(
        **fact_base(d),
        unit=cmd.unit,
        ready_at=ctx.now,
        outcome=d.outcome,
        note=cmd.note,
        result_delivery=ResultDelivery(d.result_delivery),
        due_date=step.due_date,
        on_time=step_rating(ctx.calendar, step, ctx.today) == "on_time",
        late=agency_late(d, ctx.today),
    )
    return Decision(d, (ready,))


def _close(d: Dossier, ctx: Context) -> None:
    d.holding().until = d.closed_at = ctx.now
    d.transfer = d.supplement = d.payment = None
    for record in d.transfers:
        if record.status == "pending":
            record.status, record.settled_at = "cancelled", ctx.now


def decide_hand_over(dossier: Dossier, cmd: HandOverResult, ctx: Context) -> Decision:
    """The result reached the applicant: done. Late if the agency had it ready after the
    (pause-extended) appointment; the applicant's collection day is recorded, not blamed."""
    state = allow(dossier, Action.HAND_OVER, cmd.unit, ctx)
    d = dossier.copy_to_decide()
    d.state = state
    # A dossier made ready before its step ended there: it ended when the result was ready.
    ready_at = d.ready_at or ctx.now
    if d.step.completed_at is None:
        d.step.completed_at, d.step.outcome = ready_at, StepOutcome.APPROVE
    d.result_ready_at = ready_at
    _close(d, ctx)
    done = DossierDone(
        **fact_base(d),
        unit=cmd.unit,
        done_at=ctx.now,
        late=agency_late(d, ctx.calendar.local_date(ready_at)),
        result_ready_at=ready_at,
        collected_after_appointment=ctx.today > d.appointment_date,
    )
    return Decision(d, (done,))


def decide_stop(dossier: Dossier, cmd: StopProcessing, ctx: Context) -> Decision:
    """Processing stops for good, with the reason."""
    state = allow(dossier, Action.STOP, cmd.unit, ctx)
    d = dossier.copy_to_decide()
    d.state = state
    _close(d, ctx)
    stopped = DossierStopped(**fact_base(d), unit=cmd.unit, stopped_at=ctx.now, reason=cmd.reason)
    return Decision(d, (stopped,))


def decide_withdraw(dossier: Dossier, withdrawn: DossierWithdrawn, ctx: Context) -> Decision:
    """The applicant withdrew at once (a fact from intake before 2026-12): closed, no event."""
    d = dossier.copy_to_decide()
    d.state = next_state(d.state, Action.WITHDRAW)
    _close(d, ctx)
    return Decision(d, ())


def decide_withdrawal_request(
    dossier: Dossier, request: WithdrawalRequested, ctx: Context
) -> Decision:
    """The applicant asked to withdraw (portal status 7): the holding unit must stop it.

    The clock no longer runs; the unit stops processing with ``command.processing.stop.v1``
    (status 8). No event: intake published the request.
    """
    d = dossier.copy_to_decide()
    d.state = next_state(d.state, Action.REQUEST_WITHDRAWAL)
    return Decision(d, ())


_DECLINED_BECAUSE = {
    DossierState.RESULT_READY: "result_ready",
    DossierState.WITHDRAWAL_REQUESTED: "already_requested",
}


def decide_withdrawal_declined(
    dossier: Dossier, withdrawal: DossierWithdrawn | WithdrawalRequested, ctx: Context
) -> Decision:
    """A withdrawal routing cannot take (``decide_withdrawal_request`` or
    ``decide_withdraw`` refused it): nothing changes, but the refusal is a fact.

    Intake refuses a request once it knows the result is ready, so routing only meets one
    that crossed the result (or the dossier's closing) on its way. Intake, which published
    the request and shows "withdrawal requested", then follows this fact's state instead
    of waiting for the next one, which for a closed dossier never comes."""
    d = dossier.copy_to_decide()
    requested_at = (
        withdrawal.requested_at
        if isinstance(withdrawal, WithdrawalRequested)
        else withdrawal.withdrawn_at
    )
    declined = WithdrawalDeclined(
        **fact_base(d),
        requested_at=requested_at,
        declined_at=ctx.now,
        reason_code=_DECLINED_BECAUSE.get(d.state, "closed"),
    )
    return Decision(d, (declined,))


def answer_withdrawal_request(
    dossier: Dossier, request: WithdrawalRequested, ctx: Context
) -> Decision:
    """The request taken (``decide_withdrawal_request``), or, when the dossier's state does
    not allow it, declined as a fact (``decide_withdrawal_declined``)."""
    try:
        return decide_withdrawal_request(dossier, request, ctx)
    except ActionRefused:
        return decide_withdrawal_declined(dossier, request, ctx)


@dataclass(frozen=True)
class EarlyWithdrawal:
    """A withdrawal request that reached routing before the dossier's reception (its
    ``dossier.received.v2`` was dead-lettered and replayed later, or simply came later),
    as routing keeps it until then: the request's event (``cause_id``, ``cause_type``)
    and when the applicant asked. Nothing personal: the request's free-text reason is
    not kept (no decision reads it)."""

    cause_id: str
    cause_type: str
    dossier_code: str
    holding_unit: str
    requested_at: datetime

    def request(self) -> WithdrawalRequested:
        return WithdrawalRequested(
            dossier_code=self.dossier_code,
            state=DossierState.WITHDRAWAL_REQUESTED,
            holding_unit=self.holding_unit,
            requested_at=self.requested_at,
        )


def decide_early_withdrawals(
    started: Decision,
    early: Sequence[EarlyWithdrawal],
    context_of: Callable[[EarlyWithdrawal], Context],
) -> Decision:
    """The dossier just started (``decide_start``, its route planned) with the withdrawal
    requests that reached routing before its reception taken in the order the applicant
    made them, as if each had arrived right after the reception: the first puts it in
    WITHDRAWAL_REQUESTED (no fact of routing's: intake published the request), a later
    one is declined (``already_requested``) as it would have been. The facts are the
    start's, then the requests' (in per-dossier order); each request is recorded in the
    history under its own cause (``context_of``)."""
    decision = started
    for kept in sorted(early, key=lambda e: (e.requested_at, e.cause_id)):
        ctx = context_of(kept)
        answer = answer_withdrawal_request(decision.dossier, kept.request(), ctx)
        answer = recorded(answer, ctx, actor="applicant", cause_type=kept.cause_type)
        decision = Decision(answer.dossier, (*decision.facts, *answer.facts))
    return decision
