"""Supplement loop: the clock stops when documents are requested and resumes when provided."""

from __future__ import annotations

from routing.domain.deadlines import paused_working_days
from routing.domain.guards import allow, fact_base
from routing.domain.model import Context, Decision, Dossier, SupplementPause
from routing.domain.state_machine import Action, next_state
from shared.events.commands import ProvideSupplement, RequestSupplement
from shared.events.dossier import (
    DossierFact,
    SupplementProvided,
    SupplementRequested,
    documents_hash,
)


def pause(d: Dossier, unit: str, missing: list[str], reason: str, ctx: Context) -> DossierFact:
    """Open a supplement request on ``d`` (mutated) and return its fact."""
    d.state = next_state(d.state, Action.REQUEST_SUPPLEMENT)
    d.supplement = SupplementPause(
        requested_at=ctx.now, unit=unit, missing_documents=missing, reason=reason
    )
    return SupplementRequested(
        **fact_base(d), unit=unit, requested_at=ctx.now, missing_documents=missing, reason=reason
    )


def decide_request_supplement(dossier: Dossier, cmd: RequestSupplement, ctx: Context) -> Decision:
    """Ask the applicant for missing documents; the clock stops."""
    allow(dossier, Action.REQUEST_SUPPLEMENT, cmd.unit, ctx)
    d = dossier.model_copy(deep=True)
    return Decision(d, (pause(d, cmd.unit, list(cmd.missing_documents), cmd.reason, ctx),))


def decide_provide_supplement(dossier: Dossier, cmd: ProvideSupplement, ctx: Context) -> Decision:
    """Record the applicant's supplement; the clock resumes and due dates move back."""
    state = allow(dossier, Action.PROVIDE_SUPPLEMENT, cmd.unit, ctx)
    d = dossier.model_copy(deep=True)
    assert d.supplement is not None  # SUPPLEMENT_REQUESTED always has an open request
    paused = paused_working_days(ctx.calendar, d.supplement.requested_at, ctx.now)
    step, extend = d.step, ctx.calendar.extend_by_pause
    assert step.due_date is not None  # the current step has started
    step.due_date = extend(step.due_date, paused)
    step.paused_working_days += paused
    d.paused_working_days += paused
    d.appointment_date = extend(d.appointment_date, paused)
    d.due_appointment_date = extend(d.due_appointment_date, paused)
    d.documents = [*d.documents, *cmd.documents]
    d.documents_hash = documents_hash(d.documents)
    d.state, d.supplement = state, None
    provided = SupplementProvided(
        **fact_base(d),
        unit=cmd.unit,
        provided_at=ctx.now,
        documents=list(cmd.documents),
        documents_hash=d.documents_hash,
        paused_working_days=paused,
        step_due_date=step.due_date,
        appointment_date=d.appointment_date,
    )
    return Decision(d, (provided,))
