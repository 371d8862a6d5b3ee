"""Intake's facts up to a desk's decision on ``dossier.events``: an online submission,
a dossier received (appointment given) or refused, and a supplement the desk asked for
before receiving it and the applicant provided. The deprecated v1 facts that carried the
applicant's contact stay registered here.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar, Literal

from pydantic import Field

from shared.events.dossier import (
    ApplicantContact,
    ApplicantRef,
    CalendarVersion,
    DocumentRef,
    DossierFact,
    ResultDelivery,
    UnitCode,
)
from shared.events.personal import Code, DocumentsHash, PersonalText
from shared.events.registry import register


@register
class DossierSubmitted(DossierFact):
    """An online submission arrived and waits for a desk to check it."""

    EVENT_TYPE: ClassVar[str] = "dossier.submitted.v2"
    procedure_code: Code
    receiving_unit: UnitCode
    submitted_at: datetime
    applicant: ApplicantRef = Field(description="The applicant as a keyed hash, no contact.")
    documents: list[DocumentRef]


@register
class DossierReceived(DossierFact):
    """A desk received the dossier: code allocated, appointment date given."""

    EVENT_TYPE: ClassVar[str] = "dossier.received.v2"
    procedure_code: Code
    procedure_version: Code
    receiving_unit: UnitCode
    received_at: datetime
    clock_starts_on: date = Field(description="First working day counted (after the cut-off).")
    appointment_date: date
    total_budget_days: int = Field(ge=0)
    channel: Literal["desk", "online", "agency"] = "desk"
    applicant: ApplicantRef = Field(description="The applicant as a keyed hash, no contact.")
    documents: list[DocumentRef]
    documents_hash: DocumentsHash = Field(description="SHA-256 of the canonical document list.")
    note: PersonalText | None = None
    area_unit: UnitCode | None = Field(
        None,
        description="The applicant's area (residence or where the matter lies). For a "
        "procedure received regardless of boundary, the deciding units are resolved from it.",
    )
    result_delivery: ResultDelivery = ResultDelivery.DESK
    calendar_version: CalendarVersion | None = Field(
        None, description="Calendar that counted `appointment_date`."
    )


@register
class DossierDenied(DossierFact):
    """The desk refused the dossier at intake, with the reason (refusal notice)."""

    EVENT_TYPE: ClassVar[str] = "dossier.denied.v2"
    procedure_code: Code
    receiving_unit: UnitCode
    denied_at: datetime
    reason: PersonalText = Field(min_length=1, max_length=2000)
    applicant: ApplicantRef = Field(description="The applicant as a keyed hash, no contact.")


# Deprecated first versions: they carried the applicant's name and contact to every
# reader of dossier.events. No longer emitted (contacts travel on applicant.contacts,
# readable by notification only); kept registered so old messages stay readable.


@register
class DossierSubmittedV1(DossierSubmitted):
    """Deprecated (not emitted since contracts 2.0): dossier.submitted.v2 with the contact."""

    EVENT_TYPE: ClassVar[str] = "dossier.submitted.v1"
    DEPRECATED: ClassVar[bool] = True
    applicant: ApplicantContact


@register
class DossierReceivedV1(DossierReceived):
    """Deprecated (not emitted since contracts 2.0): dossier.received.v2 with the contact."""

    EVENT_TYPE: ClassVar[str] = "dossier.received.v1"
    DEPRECATED: ClassVar[bool] = True
    applicant: ApplicantContact


@register
class DossierDeniedV1(DossierDenied):
    """Deprecated (not emitted since contracts 2.0): dossier.denied.v2 with the contact."""

    EVENT_TYPE: ClassVar[str] = "dossier.denied.v1"
    DEPRECATED: ClassVar[bool] = True
    applicant: ApplicantContact


@register
class IntakeSupplementRequested(DossierFact):
    """The desk found the dossier incomplete before receiving it and asked the applicant to
    supplement it (Mẫu 02): no appointment yet, no clock running (portal status 5).

    Either a dossier handed in at the desk (then this is its first fact) or an online
    submission the desk checked. Once supplemented, the dossier waits for the desk again
    (``dossier.intake.supplement.provided.v1``), which receives or refuses it.
    """

    EVENT_TYPE: ClassVar[str] = "dossier.intake.supplement.requested.v1"
    procedure_code: Code
    receiving_unit: UnitCode
    requested_at: datetime
    missing_documents: list[PersonalText] = Field(
        min_length=1, description="Document types (catalogue codes) or names of what is missing."
    )
    guidance: PersonalText = Field(
        min_length=1, max_length=2000, description="What to correct, how."
    )
    request_number: int = Field(1, ge=1, description="1 for the dossier's first request.")
    applicant: ApplicantRef = Field(description="The applicant as a keyed hash, no contact.")
    documents: list[DocumentRef] = Field(description="What the desk was handed so far.")


@register
class IntakeSupplementProvided(DossierFact):
    """The applicant supplemented a dossier the desk had not yet received: it waits for the
    desk to check it again (SUBMITTED), which receives it (the appointment is counted
    from then) or refuses it."""

    EVENT_TYPE: ClassVar[str] = "dossier.intake.supplement.provided.v1"
    receiving_unit: UnitCode
    provided_at: datetime
    added_documents: list[DocumentRef] = Field(min_length=1)
    documents: list[DocumentRef] = Field(description="The dossier's documents now, in order.")
    documents_hash: DocumentsHash = Field(description="SHA-256 of the canonical document list.")
