"""The stored dossier and the facts intake emits about it, built from validated input.

Pure: the store and the outbox are the caller's business.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from intake.domain import Admission, appointment
from intake.schemas import ApplicantIn, RefusalNotice, SubmissionChannel
from intake.tokens import token_digest
from shared.calendar import WorkingCalendar
from shared.catalogue import Catalogue
from shared.events.applicant import ApplicantContactRegistered, ContactDetails
from shared.events.dossier import (
    ApplicantContact,
    ApplicantRef,
    Channel,
    DocumentRef,
    DossierDenied,
    DossierReceived,
    DossierState,
    DossierSubmitted,
    DossierWithdrawn,
    ResultDelivery,
    WithdrawalRequested,
    documents_hash,
)

Document = dict[str, Any]


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
) -> Document:
    """The stored dossier before its first fact is applied (only the token's digest is kept)."""
    docs = [d.model_dump(mode="json") for d in documents]
    procedure = admission.procedure
    return {
        "_id": code,
        "state": None,
        "holding_unit": admission.unit.code,
        "applied_up_to": None,
        "channel": channel,
        "procedure_code": procedure.code,
        "procedure_version": procedure.version,
        "receiving_unit": admission.unit.code,
        "area_unit": area_unit,
        "result_delivery": result_delivery.value,
        "submitted_at": now,
        "received_at": None,
        "clock_starts_on": None,
        "appointment_date": None,
        "total_budget_days": procedure.total_budget_days,
        "fee_vnd": procedure.fees.amount_vnd,
        "applicant": contact.model_dump(mode="json"),
        "documents": docs,
        "documents_hash": documents_hash(docs),
        "note": note,
        "lookup_token_hash": token_digest(token),
        "correlation_id": None,
        "refusal": None,
        "withdrawal": None,
        "history": [],
        "created_at": now,
    }


def reception_fields(calendar: WorkingCalendar, admission: Admission, now: datetime) -> Document:
    """What reception sets: the time, the procedure version and the appointment."""
    due = appointment(calendar, admission.procedure, now)
    return {
        "received_at": now,
        "procedure_version": admission.procedure.version,
        "total_budget_days": admission.procedure.total_budget_days,
        "clock_starts_on": due.clock_starts_on.isoformat(),
        "appointment_date": due.appointment_date.isoformat(),
        "calendar_version": calendar.provenance,
    }


def applicant_ref(doc: Document) -> ApplicantRef:
    """The applicant as dossier facts name them: the keyed identity hash, no contact."""
    return ApplicantRef(identity_hash=doc["applicant"]["identity_hash"])


def contact_registered(doc: Document, now: datetime) -> ApplicantContactRegistered:
    """applicant.contact.registered.v1: the name and contact, for notification only."""
    applicant = doc["applicant"]
    return ApplicantContactRegistered(
        dossier_code=doc["_id"],
        contact=ContactDetails.model_validate(
            {k: applicant.get(k) for k in ContactDetails.model_fields if k in applicant}
        ),
        registered_at=now,
    )


def received_fact(doc: Document) -> DossierReceived:
    """dossier.received.v1 from a received dossier."""
    return DossierReceived(
        dossier_code=doc["_id"],
        state=DossierState.RECEIVED,
        holding_unit=doc["receiving_unit"],
        procedure_code=doc["procedure_code"],
        procedure_version=doc["procedure_version"],
        receiving_unit=doc["receiving_unit"],
        received_at=doc["received_at"],
        clock_starts_on=doc["clock_starts_on"],
        appointment_date=doc["appointment_date"],
        total_budget_days=doc["total_budget_days"],
        channel=doc["channel"],
        applicant=applicant_ref(doc),
        documents=[DocumentRef.model_validate(d) for d in doc["documents"]],
        documents_hash=doc["documents_hash"],
        note=doc["note"],
        area_unit=doc["area_unit"],
        result_delivery=doc.get("result_delivery", "desk"),
        calendar_version=doc.get("calendar_version"),
    )


def submitted_fact(doc: Document) -> DossierSubmitted:
    """dossier.submitted.v1 from an online submission."""
    return DossierSubmitted(
        dossier_code=doc["_id"],
        state=DossierState.SUBMITTED,
        holding_unit=doc["receiving_unit"],
        procedure_code=doc["procedure_code"],
        receiving_unit=doc["receiving_unit"],
        submitted_at=doc["submitted_at"],
        applicant=applicant_ref(doc),
        documents=[DocumentRef.model_validate(d) for d in doc["documents"]],
    )


def refusal_notice(
    catalogue: Catalogue, doc: Document, reason: str, now: datetime
) -> RefusalNotice:
    """The refusal notice (Mẫu 03) data kept with a dossier denied at intake."""
    unit = catalogue.unit(doc["receiving_unit"])
    procedure = catalogue.procedure(doc["procedure_code"])
    return RefusalNotice(
        issuing_unit=unit.code,
        issuing_unit_name=unit.name,
        procedure_code=procedure.code,
        procedure_name=procedure.name,
        applicant_name=doc["applicant"]["name"],
        reason=reason,
        denied_at=now,
    )


def denied_fact(doc: Document, reason: str, now: datetime) -> DossierDenied:
    """dossier.denied.v1: refused at intake, with the reason."""
    return DossierDenied(
        dossier_code=doc["_id"],
        state=DossierState.DENIED,
        holding_unit=doc["receiving_unit"],
        procedure_code=doc["procedure_code"],
        receiving_unit=doc["receiving_unit"],
        denied_at=now,
        reason=reason,
        applicant=applicant_ref(doc),
    )


def withdrawn_fact(
    doc: Document, reason: str | None, now: datetime
) -> DossierWithdrawn | WithdrawalRequested:
    """The applicant's withdrawal: closed at once if no desk received it yet (status 8),
    otherwise a request (status 7) that the unit holding the dossier then stops."""
    if doc["state"] == DossierState.SUBMITTED.value:
        return DossierWithdrawn(
            dossier_code=doc["_id"],
            state=DossierState.WITHDRAWN,
            holding_unit=doc["holding_unit"],
            withdrawn_at=now,
            reason=reason,
        )
    return WithdrawalRequested(
        dossier_code=doc["_id"],
        state=DossierState.WITHDRAWAL_REQUESTED,
        holding_unit=doc["holding_unit"],
        requested_at=now,
        reason=reason,
    )
