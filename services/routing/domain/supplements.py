"""Supplement loop: the clock stops when documents are requested and resumes when provided.

A request must list the missing documents (Decree 61/2018 Art. 15: the unit says once,
in full, what is missing); a second request for the same dossier is flagged, since the
portal's indicators count it against the unit. Documents brought after the cut-off are
received the next working day, which the pause then includes.
"""

from __future__ import annotations

from routing.domain.deadlines import paused_working_days
from routing.domain.guards import allow, fact_base
from routing.domain.model import Context, Decision, Dossier, SupplementPause
from routing.domain.state_machine import Action, ActionRefused, RefusalCode, next_state
from shared.events.commands import ProvideSupplement, RequestSupplement
from shared.events.dossier import DossierFact, documents_hash
from shared.events.pauses import SupplementProvided, SupplementRequested


def pause(d: Dossier, unit: str, missing: list[str], reason: str, ctx: Context) -> DossierFact:
    """Open a supplement request on ``d`` (mutated) and return its fact."""
    if not missing:
        raise ActionRefused(
            RefusalCode.MISSING_DOCUMENTS_REQUIRED,
            "a supplement request must list the missing documents",
        )
    d.state = next_state(d.state, Action.REQUEST_SUPPLEMENT)
    d.supplement = SupplementPause(
        requested_at=ctx.now, unit=unit, missing_documents=missing, reason=reason
    )
    d.supplement_requests += 1
    d.supplements.append(d.supplement)
    return SupplementRequested(
        **fact_base(d),
        unit=unit,
        requested_at=ctx.now,
        missing_documents=missing,
        reason=reason,
        procedure_code=d.procedure_code,
        request_number=d.supplement_requests,
        repeated=d.supplement_requests > 1,
    )


def decide_request_supplement(dossier: Dossier, cmd: RequestSupplement, ctx: Context) -> Decision:
    """Ask the applicant for missing documents; the clock stops."""
    allow(dossier, Action.REQUEST_SUPPLEMENT, cmd.unit, ctx)
    d = dossier.copy_to_decide()
    return Decision(d, (pause(d, cmd.unit, list(cmd.missing_documents), cmd.reason, ctx),))


def resume_clock(d: Dossier, paused: int, ctx: Context) -> None:
    """Push the current step's due date and the appointment back by ``paused`` working days."""
    step, extend = d.step, ctx.calendar.extend_by_pause
    assert step.due_date is not None  # the current step has started
    step.due_date = extend(step.due_date, paused)
    step.paused_working_days += paused
    d.paused_working_days += paused
    d.appointment_date = extend(d.appointment_date, paused)
    d.due_appointment_date = extend(d.due_appointment_date, paused)
    step.calendar_version = ctx.calendar.provenance


def decide_provide_supplement(dossier: Dossier, cmd: ProvideSupplement, ctx: Context) -> Decision:
    """Record the applicant's supplement; the clock resumes and due dates move back."""
    state = allow(dossier, Action.PROVIDE_SUPPLEMENT, cmd.unit, ctx)
    d = dossier.copy_to_decide()
    assert d.supplement is not None  # SUPPLEMENT_REQUESTED always has an open request
    paused = paused_working_days(ctx.calendar, d.supplement.requested_at, ctx.now, d.cutoff)
    resume_clock(d, paused, ctx)
    d.documents = [*d.documents, *cmd.documents]
    d.documents_hash = documents_hash(d.documents)
    d.state, d.supplement = state, None
    assert d.step.due_date is not None
    provided = SupplementProvided(
        **fact_base(d),
        unit=cmd.unit,
        provided_at=ctx.now,
        documents=list(cmd.documents),
        documents_hash=d.documents_hash,
        paused_working_days=paused,
        step_due_date=d.step.due_date,
        appointment_date=d.appointment_date,
        calendar_version=ctx.calendar.provenance,
    )
    return Decision(d, (provided,))
