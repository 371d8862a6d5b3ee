"""What intake answers about a dossier: the receipt, the applicant's view, the refusal
notice and supplement requests; and the problem every refusal is."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from intake.examples import RECEIPT_EXAMPLE, VIEW_EXAMPLE
from intake.schemas.requests import SubmissionChannel
from shared.events.dossier import DossierState, UnitCode
from shared.events.personal import Code, InClear, PersonalText


class Label(BaseModel):
    """A label in Vietnamese and English."""

    vi: str
    en: str


class RefusalNotice(BaseModel):
    """Data of the refusal notice handed to the applicant (phiếu từ chối tiếp nhận)."""

    form: Annotated[str, InClear("the form's number")] = "Mẫu 03"
    issuing_unit: UnitCode
    issuing_unit_name: Annotated[str, InClear("a unit's name from the catalogue")]
    procedure_code: Code
    procedure_name: Annotated[str, InClear("a procedure's name from the catalogue")]
    applicant_name: PersonalText
    reason: PersonalText
    denied_at: datetime


class SupplementRequestOut(BaseModel):
    """A desk's request to supplement the dossier before receiving it (Mẫu 02)."""

    number: int = Field(description="1 for the dossier's first request.")
    missing_documents: list[str] = Field(description="Catalogue names where known.")
    guidance: str
    requested_at: datetime
    provided_at: datetime | None = Field(None, description="When the applicant supplemented.")


class Receipt(BaseModel):
    """The receipt (phiếu hẹn): the look-up token is shown here once and never again."""

    model_config = ConfigDict(json_schema_extra={"examples": [RECEIPT_EXAMPLE]})

    code: str = Field(description="{receiving-agency-code}-{YYMMDD}-{NNNN}")
    state: DossierState
    channel: SubmissionChannel
    procedure_code: str
    procedure_version: str
    procedure_name: str
    receiving_unit: str
    submitted_at: datetime = Field(description="When intake took the dossier.")
    received_at: datetime | None = Field(None, description="When a desk received it.")
    clock_starts_on: date | None = Field(None, description="Day 1 of the budget (once received).")
    appointment_date: date | None = Field(None, description="Appointment date (once received).")
    total_budget_days: int
    fee_vnd: int
    lookup_token: str = Field(description="Secret for GET /v1/dossiers/{code} (X-Lookup-Token).")
    lookup_path: str
    refusal: RefusalNotice | None = None


class UnitRef(BaseModel):
    """A unit by code, with its names when the catalogue knows it."""

    code: str
    name: str | None = None
    name_en: str | None = None


class HistoryStep(BaseModel):
    """One public step of a dossier's history."""

    at: datetime
    event_type: str
    state: DossierState
    holding_unit: UnitRef
    label: Label


class DossierView(BaseModel):
    """What the applicant sees: state, who holds the dossier, the appointment, public steps."""

    model_config = ConfigDict(json_schema_extra={"examples": [VIEW_EXAMPLE]})

    code: str
    state: DossierState
    portal_status: int = Field(ge=1, le=10, description="National portal status code.")
    state_label: Label = Field(description="Vietnamese: the portal's exact label of the code.")
    procedure_code: str
    procedure_name: str
    procedure_name_en: str
    receiving_unit: UnitRef
    holding_unit: UnitRef
    submitted_at: datetime
    received_at: datetime | None
    appointment_date: date | None
    history: list[HistoryStep]
    refusal: RefusalNotice | None = None
    supplement_requests: list[SupplementRequestOut] = Field(
        default_factory=list,
        description="The desk's requests to supplement the dossier before receiving it "
        "(Mẫu 02, printable at forms/02); the last one without `provided_at` is pending.",
    )
    personal_data_erased_at: datetime | None = Field(
        None,
        description="When the retention period erased the dossier's personal data (it "
        "closed more than LT_INTAKE_PERSONAL_DATA_RETENTION_DAYS before): the state, units, "
        "dates and steps remain; the refusal notice and supplement requests are gone, and "
        "its forms answer 410 `personal_data_erased`. Null while they are kept.",
    )


class Problem(BaseModel):
    """An RFC 9457 problem: every refusal, with a machine-readable code and the field."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "type": "urn:lienthong:problem:missing_document",
                    "title": "missing document",
                    "status": 422,
                    "code": "missing_document",
                    "detail": "required document(s) missing: birth_certificate",
                    "field": "documents",
                    "missing": ["birth_certificate"],
                }
            ]
        },
    )

    type: str
    title: str
    status: int
    code: str
    detail: str
    field: str | None = None
    errors: list[dict[str, Any]] | None = None
