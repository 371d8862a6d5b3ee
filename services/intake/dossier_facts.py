"""The facts intake emits about its dossier, built from the dossier as a decision leaves
it (``dossiers``), and the applicant's contact registration. Pure.
"""

from __future__ import annotations

from datetime import datetime

from intake.model import IntakeDossier, SupplementRequest
from intake.schemas.responses import RefusalNotice
from shared.catalogue.configuration import Catalogue
from shared.events.applicant import ApplicantContactRegistered, ContactDetails
from shared.events.dossier import ApplicantRef, DossierState
from shared.events.reception import (
    DossierDenied,
    DossierReceived,
    DossierSubmitted,
    IntakeSupplementRequested,
)
from shared.events.withdrawal import DossierWithdrawn, WithdrawalRequested


def applicant_ref(dossier: IntakeDossier) -> ApplicantRef:
    """The applicant as dossier facts name them: the keyed identity hash, no contact."""
    return ApplicantRef(identity_hash=dossier.applicant.identity_hash)


def contact_registered(dossier: IntakeDossier, now: datetime) -> ApplicantContactRegistered:
    """applicant.contact.registered.v1: the name and contact, for notification only."""
    applicant = dossier.applicant.model_dump()
    return ApplicantContactRegistered(
        dossier_code=dossier.code,
        contact=ContactDetails.model_validate(
            {k: applicant.get(k) for k in ContactDetails.model_fields if k in applicant}
        ),
        registered_at=now,
    )


def received_fact(d: IntakeDossier) -> DossierReceived:
    """dossier.received from a received dossier."""
    assert d.received_at and d.clock_starts_on and d.appointment_date  # set by dossiers._receive
    return DossierReceived(
        dossier_code=d.code,
        state=DossierState.RECEIVED,
        holding_unit=d.receiving_unit,
        procedure_code=d.procedure_code,
        procedure_version=d.procedure_version,
        receiving_unit=d.receiving_unit,
        received_at=d.received_at,
        clock_starts_on=d.clock_starts_on,
        appointment_date=d.appointment_date,
        total_budget_days=d.total_budget_days,
        channel=d.channel,
        applicant=applicant_ref(d),
        documents=d.documents,
        documents_hash=d.documents_hash,
        note=d.note,
        area_unit=d.area_unit,
        result_delivery=d.result_delivery,
        calendar_version=d.calendar_version,
    )


def submitted_fact(d: IntakeDossier) -> DossierSubmitted:
    """dossier.submitted from an online submission."""
    return DossierSubmitted(
        dossier_code=d.code,
        state=DossierState.SUBMITTED,
        holding_unit=d.receiving_unit,
        procedure_code=d.procedure_code,
        receiving_unit=d.receiving_unit,
        submitted_at=d.submitted_at,
        applicant=applicant_ref(d),
        documents=d.documents,
    )


def refusal_notice(
    catalogue: Catalogue, d: IntakeDossier, reason: str, now: datetime
) -> RefusalNotice:
    """The refusal notice (Mẫu 03) data kept with a dossier denied at intake."""
    unit = catalogue.unit(d.receiving_unit)
    procedure = catalogue.procedure(d.procedure_code)
    return RefusalNotice(
        issuing_unit=unit.code,
        issuing_unit_name=unit.name,
        procedure_code=procedure.code,
        procedure_name=procedure.name,
        applicant_name=d.applicant.name,
        reason=reason,
        denied_at=now,
    )


def supplement_requested_fact(
    d: IntakeDossier, request: SupplementRequest
) -> IntakeSupplementRequested:
    """dossier.intake.supplement.requested: the desk's Mẫu 02, before reception."""
    return IntakeSupplementRequested(
        dossier_code=d.code,
        state=DossierState.SUPPLEMENT_REQUESTED,
        holding_unit=d.receiving_unit,
        procedure_code=d.procedure_code,
        receiving_unit=d.receiving_unit,
        requested_at=request.requested_at,
        missing_documents=request.missing_documents,
        guidance=request.guidance,
        request_number=request.number,
        applicant=applicant_ref(d),
        documents=d.documents,
    )


def denied_fact(d: IntakeDossier, reason: str, now: datetime) -> DossierDenied:
    """dossier.denied: refused at intake, with the reason."""
    return DossierDenied(
        dossier_code=d.code,
        state=DossierState.DENIED,
        holding_unit=d.receiving_unit,
        procedure_code=d.procedure_code,
        receiving_unit=d.receiving_unit,
        denied_at=now,
        reason=reason,
        applicant=applicant_ref(d),
    )


def withdrawn_fact(
    d: IntakeDossier, reason: str | None, now: datetime
) -> DossierWithdrawn | WithdrawalRequested:
    """The applicant's withdrawal: closed at once if no desk received it yet (status 8:
    submitted online, or waiting for a supplement asked before reception), otherwise a
    request (status 7) that the unit holding the dossier then stops."""
    if d.received_at is None:
        return DossierWithdrawn(
            dossier_code=d.code,
            state=DossierState.WITHDRAWN,
            holding_unit=d.holding_unit,
            withdrawn_at=now,
            reason=reason,
        )
    return WithdrawalRequested(
        dossier_code=d.code,
        state=DossierState.WITHDRAWAL_REQUESTED,
        holding_unit=d.holding_unit,
        requested_at=now,
        reason=reason,
    )
