"""Facts that stop and restart a dossier's clock on ``dossier.events`` (emitted by routing):
a supplement requested and provided, a payment requested and received.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar

from pydantic import Field

from shared.events.dossier import (
    CalendarVersion,
    DocumentRef,
    DossierFact,
    UnitCode,
)
from shared.events.personal import Code, DocumentsHash, PersonalText
from shared.events.registry import register


@register
class SupplementRequested(DossierFact):
    """Documents are missing: the applicant must supplement; the clock pauses."""

    EVENT_TYPE: ClassVar[str] = "dossier.supplement.requested.v1"
    unit: UnitCode
    requested_at: datetime
    missing_documents: list[PersonalText] = Field(
        description="Document types (catalogue codes) or names of what is missing."
    )
    reason: PersonalText
    respond_by: date | None = None
    procedure_code: Code | None = Field(
        None, description="The dossier's procedure (gives the documents' display names)."
    )
    request_number: int = Field(1, ge=1, description="1 for the first request of the dossier.")
    repeated: bool = Field(
        False, description="Not the first supplement request: counts against the unit."
    )


@register
class SupplementProvided(DossierFact):
    """The applicant supplied what was missing; the clock resumes."""

    EVENT_TYPE: ClassVar[str] = "dossier.supplement.provided.v1"
    unit: UnitCode
    provided_at: datetime
    documents: list[DocumentRef]
    documents_hash: DocumentsHash
    paused_working_days: int = Field(ge=0)
    step_due_date: date
    appointment_date: date
    calendar_version: CalendarVersion | None = None


@register
class PaymentRequested(DossierFact):
    """The applicant must pay a fee or fulfil a financial obligation; the clock stops."""

    EVENT_TYPE: ClassVar[str] = "dossier.payment.requested.v1"
    unit: UnitCode
    amount_vnd: int = Field(ge=0)
    requested_at: datetime
    description: PersonalText | None = Field(
        None, description="What is to be paid (fee, land use levy)."
    )


@register
class PaymentReceived(DossierFact):
    """The financial obligation was fulfilled; the clock resumes, due dates move back."""

    EVENT_TYPE: ClassVar[str] = "dossier.payment.received.v1"
    unit: UnitCode
    amount_vnd: int = Field(ge=0)
    received_at: datetime
    reference: PersonalText | None = Field(None, description="Receipt or gateway transaction id.")
    method: Code | None = Field(None, description="desk, gateway or bank_transfer.")
    paused_working_days: int | None = Field(None, ge=0)
    step_due_date: date | None = None
    appointment_date: date | None = None
    calendar_version: CalendarVersion | None = None
