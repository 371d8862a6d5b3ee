"""Decisions for each action: the dossier after it and the facts it implies, or a refusal.

Every ``decide_*`` function is pure: it takes the current dossier (never mutated), the
action's data and a ``Context`` and returns a ``Decision``, or raises ``ActionRefused``
before anything changed. Check order: the state machine, then the acting unit's role,
then route guards.
"""

from __future__ import annotations

from routing.domain.apology import decide_apology
from routing.domain.closing import decide_hand_over, decide_return_result, decide_stop
from routing.domain.deadlines import step_due_date, step_rating
from routing.domain.guards import allow, fact_base
from routing.domain.history import HistoryEntry
from routing.domain.model import (
    Context,
    Decision,
    Dossier,
    Holding,
    PendingTransfer,
    Step,
    TransferRecord,
)
from routing.domain.payments import decide_confirm_payment, decide_request_payment
from routing.domain.route import ResolvedRoute, in_force
from routing.domain.state_machine import Action, ActionRefused, RefusalCode, next_state
from routing.domain.supplements import decide_provide_supplement, decide_request_supplement, pause
from routing.domain.transfers import decide_accept, decide_refuse
from shared.catalogue.model import Procedure
from shared.events.commands import (
    AcceptTransfer,
    CompleteStep,
    ConfirmPayment,
    HandOverResult,
    IssueApology,
    ProvideSupplement,
    RefuseTransfer,
    RequestPayment,
    RequestSupplement,
    ReturnResult,
    StopProcessing,
    UnitCommand,
)
from shared.events.dossier import DossierFact, DossierState, StepOutcome
from shared.events.handover import DossierRoutePlanned, StepCompleted, TransferRequested
from shared.events.reception import DossierReceived

DEFAULT_SUPPLEMENT_REASON = "Hồ sơ cần được bổ sung theo yêu cầu của cơ quan giải quyết."


def decide_start(
    received: DossierReceived, route: ResolvedRoute, procedure: Procedure, ctx: Context
) -> Decision:
    """Plan the route for a received dossier; step 0 runs at the receiving desk."""
    state = next_state(DossierState.RECEIVED, Action.START)
    steps = [
        Step(
            index=s.index,
            name=s.name,
            name_en=route.names_en[s.index],
            unit=s.unit,
            budget_days=s.budget_days,
            redirected_from=s.redirected_from,
        )
        for s in route.steps
    ]
    first = steps[0]
    first.started_at = first.accepted_at = received.received_at
    first.due_date = ctx.calendar.due_date(
        received.received_at, first.budget_days, procedure.intake_cutoff
    )
    first.calendar_version = ctx.calendar.provenance
    d = Dossier(
        code=received.dossier_code,
        procedure_code=received.procedure_code,
        procedure_version=received.procedure_version,
        procedure_name=procedure.name,
        receiving_unit=route.receiving_unit,
        cutoff=procedure.intake_cutoff,
        received_at=received.received_at,
        state=state,
        holding_unit=route.receiving_unit,
        current_step=0,
        steps=steps,
        original_appointment_date=received.appointment_date,
        due_appointment_date=received.appointment_date,
        appointment_date=received.appointment_date,
        documents=list(received.documents),
        documents_hash=received.documents_hash,
        area_unit=received.area_unit,
        result_delivery=received.result_delivery.value,
        calendar_version=received.calendar_version or ctx.calendar.provenance,
        history=[
            HistoryEntry(
                at=received.received_at,
                event=DossierReceived.EVENT_TYPE,
                state=received.state,
                holding_unit=received.holding_unit,
                unit=received.receiving_unit,
            )
        ],
        holdings=[
            Holding(
                unit=route.receiving_unit, step_index=0, since=received.received_at, how="received"
            )
        ],
    )
    planned = DossierRoutePlanned(
        **fact_base(d),
        steps=route.steps,
        current_step=0,
        step_due_date=first.due_date,
        calendar_version=first.calendar_version,
        area_unit=route.area_unit,
    )
    return Decision(d, (planned,))


def _move_to(d: Dossier, target: int, from_step: int, ctx: Context) -> list[DossierFact]:
    """Start step ``target``: at the same unit directly, elsewhere through a hand-over."""
    step = d.steps[target]
    unit, redirected = in_force(ctx.catalogue, step.unit, ctx.today)
    if redirected is not None:
        step.redirected_from, step.unit = step.unit, unit
    step.started_at, step.accepted_at, step.completed_at, step.outcome = ctx.now, None, None, None
    step.due_date = step_due_date(ctx.calendar, d, target, ctx.now)
    step.calendar_version = ctx.calendar.provenance
    d.current_step = target
    if step.unit == d.holding_unit:
        step.accepted_at = ctx.now
        return []
    d.state = next_state(d.state, Action.SEND_TRANSFER)
    d.transfer = PendingTransfer(
        transfer_id=ctx.new_id(f"transfer/{target}"),
        from_step=from_step,
        step_index=target,
        from_unit=d.holding_unit,
        to_unit=step.unit,
        requested_at=ctx.now,
        step_due_date=step.due_date,
        redirected_from=redirected,
    )
    d.transfers.append(
        TransferRecord(
            transfer_id=d.transfer.transfer_id,
            step_index=target,
            from_unit=d.holding_unit,
            to_unit=step.unit,
            requested_at=ctx.now,
        )
    )
    requested = TransferRequested(
        **fact_base(d),
        transfer_id=d.transfer.transfer_id,
        step_index=target,
        step_name=step.name,
        from_unit=d.holding_unit,
        to_unit=step.unit,
        requested_at=ctx.now,
        step_due_date=step.due_date,
        documents_hash=d.documents_hash,
        redirected_from=redirected,
        calendar_version=step.calendar_version,
    )
    return [requested]


def decide_complete(dossier: Dossier, cmd: CompleteStep, ctx: Context) -> Decision:
    """Complete the current step: approve moves on, reject goes to the returning desk."""
    allow(dossier, Action.COMPLETE_STEP, cmd.unit, ctx)
    if dossier.on_final_step:
        raise ActionRefused(
            RefusalCode.FINAL_STEP, "the returning desk's step ends with returning the result"
        )
    needs_supplement = cmd.outcome is StepOutcome.NEEDS_SUPPLEMENT
    if needs_supplement and not cmd.missing_documents:
        raise ActionRefused(
            RefusalCode.MISSING_DOCUMENTS_REQUIRED,
            "a supplement request must list the missing documents (missing_documents)",
            field="missing_documents",
        )
    if cmd.outcome is StepOutcome.REJECT and not (cmd.note or "").strip():
        # The applicant gets the dossier back with a written reason (Decree 61/2018).
        raise ActionRefused(
            RefusalCode.REASON_REQUIRED,
            "a refusal (outcome reject) must state its reason for the applicant (note)",
            field="note",
        )
    d = dossier.copy_to_decide()
    step = d.step
    rated = step.model_copy(update={"completed_at": None if needs_supplement else ctx.now})
    rating = step_rating(ctx.calendar, rated, ctx.today)
    completed = StepCompleted(
        **fact_base(d),
        step_index=step.index,
        unit=cmd.unit,
        outcome=cmd.outcome,
        completed_at=ctx.now,
        note=cmd.note,
        due_date=step.due_date,
        on_time=None if needs_supplement else rating == "on_time",
    )
    if needs_supplement:
        # A verdict on the step, not its end: the same step resumes after the supplement.
        reason = cmd.note or DEFAULT_SUPPLEMENT_REASON
        missing = list(cmd.missing_documents)
        return Decision(d, (completed, pause(d, cmd.unit, missing, reason, ctx)))
    step.completed_at, step.outcome = ctx.now, cmd.outcome
    target = step.index + 1
    if cmd.outcome is StepOutcome.REJECT:
        d.outcome = "rejected"
        target = len(d.steps) - 1
        for skipped in d.steps[step.index + 1 : target]:
            skipped.skipped = True
    return Decision(d, (completed, *_move_to(d, target, step.index, ctx)))


def decide_command(dossier: Dossier, cmd: UnitCommand, ctx: Context) -> Decision:
    """Dispatch a unit command (from the commands topic or HTTP) to its decision."""
    match cmd:
        case AcceptTransfer():
            return decide_accept(dossier, cmd, ctx)
        case RefuseTransfer():
            return decide_refuse(dossier, cmd, ctx)
        case CompleteStep():
            return decide_complete(dossier, cmd, ctx)
        case RequestSupplement():
            return decide_request_supplement(dossier, cmd, ctx)
        case ProvideSupplement():
            return decide_provide_supplement(dossier, cmd, ctx)
        case ReturnResult():
            return decide_return_result(dossier, cmd, ctx)
        case HandOverResult():
            return decide_hand_over(dossier, cmd, ctx)
        case StopProcessing():
            return decide_stop(dossier, cmd, ctx)
        case IssueApology():
            return decide_apology(dossier, cmd, ctx)
        case RequestPayment():
            return decide_request_payment(dossier, cmd, ctx)
        case ConfirmPayment():
            return decide_confirm_payment(dossier, cmd, ctx)
    raise TypeError(f"no decision for command {type(cmd).__name__}")
