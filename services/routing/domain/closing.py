"""The end of a dossier's route: result ready, handed over, stopped, or withdrawn."""

from __future__ import annotations

from routing.domain.guards import allow, fact_base
from routing.domain.model import Context, Decision, Dossier
from routing.domain.state_machine import Action, ActionRefused, RefusalCode, next_state
from shared.events.commands import HandOverResult, ReturnResult, StopProcessing
from shared.events.dossier import (
    DossierDone,
    DossierStopped,
    DossierWithdrawn,
    ResultDelivery,
    ResultReady,
    StepOutcome,
    WithdrawalRequested,
)


def decide_return_result(dossier: Dossier, cmd: ReturnResult, ctx: Context) -> Decision:
    """The returning desk has the result ready for the applicant."""
    state = allow(dossier, Action.RETURN_RESULT, cmd.unit, ctx)
    if not dossier.on_final_step:
        raise ActionRefused(
            RefusalCode.NOT_FINAL_STEP,
            f"step {dossier.current_step} is not the returning desk's step; complete it first",
        )
    d = dossier.copy_to_decide()
    d.state, d.outcome = state, d.outcome or "approved"
    ready = ResultReady(
        **fact_base(d),
        unit=cmd.unit,
        ready_at=ctx.now,
        outcome=d.outcome,
        note=cmd.note,
        result_delivery=ResultDelivery(d.result_delivery),
    )
    return Decision(d, (ready,))


def _close(d: Dossier, ctx: Context) -> None:
    d.holding().until = d.closed_at = ctx.now
    d.transfer = d.supplement = d.payment = None
    for record in d.transfers:
        if record.status == "pending":
            record.status, record.settled_at = "cancelled", ctx.now


def decide_hand_over(dossier: Dossier, cmd: HandOverResult, ctx: Context) -> Decision:
    """The result reached the applicant: done, late if after the (pause-extended) due date."""
    state = allow(dossier, Action.HAND_OVER, cmd.unit, ctx)
    d = dossier.copy_to_decide()
    d.state = state
    d.step.completed_at, d.step.outcome = ctx.now, StepOutcome.APPROVE
    _close(d, ctx)
    late = d.overdue_raised or ctx.today > d.due_appointment_date
    return Decision(d, (DossierDone(**fact_base(d), unit=cmd.unit, done_at=ctx.now, late=late),))


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
