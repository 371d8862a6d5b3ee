"""Intake's decisions about its dossier: pure functions from the dossier and the input
to the changed dossier and the fact that says so.

The facts are built in ``dossier_facts``; the store, the outbox and the unit of work
are the caller's business.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from intake.domain.admission import Admission
from intake.domain.codes_and_dates import appointment
from intake.domain.state_checks import (
    check_awaiting_desk,
    check_awaiting_supplement,
    check_withdrawal,
)
from intake.dossier_facts import (
    denied_fact,
    received_fact,
    refusal_notice,
    submitted_fact,
    supplement_requested_fact,
    withdrawn_fact,
)
from intake.model import IntakeDossier, PublicStep, SupplementRequest, Withdrawal
from intake.schemas.requests import ApplicantIn, SubmissionChannel
from intake.tokens import token_digest
from shared.calendar import WorkingCalendar
from shared.catalogue.configuration import Catalogue
from shared.envelope import Envelope
from shared.events.dossier import (
    ApplicantContact,
    Channel,
    DocumentRef,
    DossierFact,
    DossierState,
    ResultDelivery,
    documents_hash,
)
from shared.events.reception import IntakeSupplementProvided


class Decision(NamedTuple):
    """The dossier as a decision leaves it, and the fact to emit about it."""

    dossier: IntakeDossier
    fact: DossierFact


def applicant_contact(applicant: ApplicantIn, identity_hash: str) -> ApplicantContact:
    """What intake keeps of the applicant: the identity number only as a keyed hash."""
    return ApplicantContact(
        name=applicant.name,
        identity_hash=identity_hash,
        email=applicant.email,
        phone=applicant.phone,
        channels=[Channel(c) for c in applicant.channels],
        language=applicant.language,
    )


def new_dossier(
    *,
    code: str,
    admission: Admission,
    contact: ApplicantContact,
    documents: list[DocumentRef],
    area_unit: str | None,
    note: str | None,
    result_delivery: ResultDelivery = ResultDelivery.DESK,
    channel: SubmissionChannel,
    token: str,
    now: datetime,
    address: str | None = None,
) -> IntakeDossier:
    """The dossier before its first fact is applied (only the token's digest is kept)."""
    procedure = admission.procedure
    return IntakeDossier(
        code=code,
        holding_unit=admission.unit.code,
        channel=channel,
        procedure_code=procedure.code,
        procedure_version=procedure.version,
        receiving_unit=admission.unit.code,
        area_unit=area_unit,
        result_delivery=result_delivery,
        submitted_at=now,
        total_budget_days=procedure.total_budget_days,
        fee_vnd=procedure.fees.amount_vnd,
        applicant=contact,
        applicant_address=address,
        documents=documents,
        documents_hash=documents_hash(documents),
        note=note,
        lookup_token_hash=token_digest(token),
        outbox_seq=0,  # a new code: no fact was numbered in its sequence before
        created_at=now,
    )


def decide_submission(
    dossier: IntakeDossier, calendar: WorkingCalendar, admission: Admission, now: datetime
) -> Decision:
    """A new dossier: SUBMITTED when it came online (a desk checks it), else RECEIVED."""
    if dossier.channel == "online":
        return Decision(dossier, submitted_fact(dossier))
    return _receive(dossier, calendar, admission, now)


def decide_reception(
    dossier: IntakeDossier, calendar: WorkingCalendar, admission: Admission, now: datetime
) -> Decision:
    """A desk accepts an online submission: the appointment is counted from now."""
    check_awaiting_desk(dossier.current_state)
    return _receive(dossier, calendar, admission, now)


def decide_desk_refusal(
    dossier: IntakeDossier, catalogue: Catalogue, reason: str, now: datetime
) -> Decision:
    """A desk refuses a dossier at intake (new, or an online one waiting): DENIED, with
    the refusal notice kept."""
    notice = refusal_notice(catalogue, dossier, reason, now)
    return Decision(dossier.changed(refusal=notice), denied_fact(dossier, reason, now))


def decide_denial(
    dossier: IntakeDossier, catalogue: Catalogue, reason: str, now: datetime
) -> Decision:
    """A desk refuses an online submission still waiting for it."""
    check_awaiting_desk(dossier.current_state)
    return decide_desk_refusal(dossier, catalogue, reason, now)


def decide_supplement_request(
    dossier: IntakeDossier, missing: list[str], guidance: str, now: datetime
) -> Decision:
    """The desk finds a dossier it has not received incomplete and asks the applicant to
    supplement it (Mẫu 02) instead of refusing it: SUPPLEMENT_REQUESTED, no appointment.

    A new dossier at the desk (no state yet), or an online one waiting for the desk.
    """
    if dossier.state is not None:
        check_awaiting_desk(dossier.current_state)
    request = SupplementRequest(
        number=len(dossier.supplement_requests) + 1,
        missing_documents=missing,
        guidance=guidance,
        requested_at=now,
    )
    asked = dossier.changed(supplement_requests=[*dossier.supplement_requests, request])
    return Decision(asked, supplement_requested_fact(asked, request))


def decide_supplement(
    dossier: IntakeDossier, documents: list[DocumentRef], now: datetime
) -> Decision:
    """The applicant brings what was asked: the documents are added and the dossier waits
    for the desk again (SUBMITTED), which receives it or refuses it."""
    check_awaiting_supplement(dossier)
    *earlier, last = dossier.supplement_requests
    all_documents = [*dossier.documents, *documents]
    supplemented = dossier.changed(
        documents=all_documents,
        documents_hash=documents_hash(all_documents),
        supplement_requests=[*earlier, last.model_copy(update={"provided_at": now})],
    )
    fact = IntakeSupplementProvided(
        dossier_code=dossier.code,
        state=DossierState.SUBMITTED,
        holding_unit=dossier.receiving_unit,
        receiving_unit=dossier.receiving_unit,
        provided_at=now,
        added_documents=documents,
        documents=all_documents,
        documents_hash=supplemented.documents_hash,
    )
    return Decision(supplemented, fact)


def decide_withdrawal(dossier: IntakeDossier, reason: str | None, now: datetime) -> Decision:
    """The applicant withdraws, if the state allows it."""
    check_withdrawal(dossier.current_state)
    withdrawn = dossier.changed(withdrawal=Withdrawal(reason=reason, at=now))
    return Decision(withdrawn, withdrawn_fact(dossier, reason, now))


def _receive(
    dossier: IntakeDossier, calendar: WorkingCalendar, admission: Admission, now: datetime
) -> Decision:
    due = appointment(calendar, admission.procedure, now)
    received = dossier.changed(
        received_at=now,
        procedure_version=admission.procedure.version,
        total_budget_days=admission.procedure.total_budget_days,
        clock_starts_on=due.clock_starts_on,
        appointment_date=due.appointment_date,
        original_appointment_date=due.appointment_date,
        calendar_version=calendar.provenance,
    )
    return Decision(received, received_fact(received))


def applied_own_fact(
    dossier: IntakeDossier, fact: DossierFact, event: Envelope, at: datetime
) -> IntakeDossier:
    """The dossier once intake's own fact is emitted: state, holder and a history step.

    The first fact of a dossier names its flow: its event id became the correlation id.
    """
    step = PublicStep.of(fact, event.id, event.type, at)
    return dossier.changed(
        state=fact.state,
        holding_unit=fact.holding_unit,
        applied_up_to=at,
        correlation_id=event.correlationid,
        history=[*dossier.history, step],
    )
