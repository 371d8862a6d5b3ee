"""Intake's HTTP request and response models, with the bounds and examples OpenAPI shows.

Pure pydantic (no I/O): format and size rules live here and surface as 422
``invalid_request``; rules that need the catalogue live in ``domain.py``.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, computed_field, field_validator

from intake.examples import (
    EXAMPLE_APPLICANT,
    EXAMPLE_DOCUMENTS,
    PROCEDURE_EXAMPLE,
    RECEIPT_EXAMPLE,
    SUBJECT_ACCESS_EXAMPLE,
    UNIT_EXAMPLE,
    VIEW_EXAMPLE,
)
from shared.catalogue import PROCEDURE_CODE_PATTERN, UNIT_CODE_PATTERN, Procedure, Unit
from shared.events.dossier import DossierState, Language, ResultDelivery, UnitCode
from shared.events.personal import Code, InClear, PersonalText
from shared.text import CleanText

MAX_DOCUMENTS = 50
MAX_DOCUMENT_BYTES = 100_000_000
# One line of text: no control characters at all.
LINE = r"^[^\x00-\x1f\x7f]+$"
# Free text: line breaks and tabs allowed, other control characters not.
TEXT = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]+$"
IDENTITY_FORMATS = {
    "citizen_id": re.compile(r"^\d{12}$"),  # căn cước / CCCD: 12 digits
    "passport": re.compile(r"^[A-Z][A-Z0-9]{5,11}$"),  # e.g. C1234567
}
IdentityType = Literal["citizen_id", "passport"]
SubmissionChannel = Literal["desk", "online", "agency"]


def identity_number_of(number: str, info: ValidationInfo) -> str:
    """``number`` if it has the format of the ``identity_type`` validated before it (the
    message does not repeat the number: refusals and logs never carry it)."""
    kind = info.data.get("identity_type", "citizen_id")
    if not IDENTITY_FORMATS[kind].match(number):
        raise ValueError(f"not a valid {kind} number")
    return number


class _Request(CleanText):
    """Strings NFC-normalised, bidirectional controls refused, before any other rule."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ApplicantIn(_Request):
    """The applicant. The identity number is hashed on arrival and never stored in clear."""

    name: str = Field(min_length=1, max_length=200, pattern=LINE)
    identity_type: IdentityType = Field("citizen_id", description="Kind of identity document.")
    identity_number: str = Field(
        min_length=6,
        max_length=20,
        description="Citizen ID (12 digits) or passport number (letter + 5–11 letters/digits).",
    )
    email: str | None = Field(
        None, max_length=254, pattern=r"^[^@\s\x00-\x1f]{1,64}@[^@\s\x00-\x1f]+\.[^@\s\x00-\x1f]+$"
    )
    phone: str | None = Field(None, pattern=r"^(\+84|0)\d{9,10}$", description="Vietnamese.")
    address: str | None = Field(
        None,
        min_length=1,
        max_length=300,
        pattern=LINE,
        description="Optional postal address, one line: printed on the forms addressed to "
        "the applicant (Mẫu 01, 02, 03) and the desk's log book (Mẫu 06); kept by intake "
        "only, never in events.",
    )
    channels: list[Literal["email", "sms"]] = Field(
        default_factory=list, max_length=2, description="Preferred notification channels."
    )
    language: Language = Field(Language.VI, description="Language of notifications.")

    @field_validator("identity_number")
    @classmethod
    def _identity_format(cls, number: str, info: ValidationInfo) -> str:
        return identity_number_of(number, info)

    @field_validator("channels")
    @classmethod
    def _reachable(cls, channels: list[str], info: ValidationInfo) -> list[str]:
        if len(set(channels)) != len(channels):
            raise ValueError("channels must not repeat")
        for channel, contact in (("email", "email"), ("sms", "phone")):
            if channel in channels and info.data.get(contact) is None:
                raise ValueError(f"the {channel} channel needs a {contact}")
        return channels


class DocumentIn(_Request):
    """A document by reference: the file itself stays with the submitter."""

    name: str = Field(min_length=1, max_length=200, pattern=LINE)
    type: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$", description="Document type code.")
    size_bytes: int = Field(ge=1, le=MAX_DOCUMENT_BYTES, strict=True)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the content, hex.")


class _DossierRequest(_Request):
    procedure_code: str = Field(pattern=PROCEDURE_CODE_PATTERN, description="Mã TTHC.")
    receiving_unit: str = Field(pattern=UNIT_CODE_PATTERN, description="Receiving agency code.")
    area_unit: str | None = Field(
        None,
        pattern=UNIT_CODE_PATTERN,
        description="Optional: the unit where the applicant lives or the matter lies. When "
        "given, a procedure without intake regardless of boundary must be received by a unit "
        "whose area contains it.",
    )
    applicant: ApplicantIn
    note: str | None = Field(None, max_length=2000, pattern=TEXT)
    result_delivery: ResultDelivery = Field(
        ResultDelivery.DESK,
        description="How the applicant gets the result: at the desk, by public postal "
        "service, or online (changes the wording of notices and forms).",
    )


class SubmissionRequest(_DossierRequest):
    """A dossier submitted at a desk, through the online portal or by an agency system."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "procedure_code": "1.001193",
                    "receiving_unit": "001.21.31.H59",
                    "channel": "desk",
                    "applicant": EXAMPLE_APPLICANT,
                    "documents": EXAMPLE_DOCUMENTS,
                    "note": "Nộp trực tiếp tại bộ phận một cửa",
                }
            ]
        }
    )

    channel: SubmissionChannel = Field(
        "desk", description="desk and agency: received at once; online: waits for a desk."
    )
    documents: list[DocumentIn] = Field(min_length=1, max_length=MAX_DOCUMENTS)


class DeskDenialRequest(_DossierRequest):
    """A desk records a refusal at intake (phiếu từ chối): the dossier gets a code, DENIED."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "procedure_code": "1.001193",
                    "receiving_unit": "001.21.31.H59",
                    "applicant": EXAMPLE_APPLICANT,
                    "documents": EXAMPLE_DOCUMENTS[:1],
                    "reason": "Thủ tục không thuộc thẩm quyền giải quyết của Ủy ban nhân dân xã.",
                }
            ]
        }
    )

    documents: list[DocumentIn] = Field(default_factory=list, max_length=MAX_DOCUMENTS)
    reason: str = Field(min_length=1, max_length=2000, pattern=TEXT)


MissingDocument = Annotated[str, Field(min_length=1, max_length=200, pattern=LINE)]
GUIDANCE = Field(
    min_length=1,
    max_length=2000,
    pattern=TEXT,
    description="What is missing or incorrect and how to complete it (printed on Mẫu 02).",
)
MISSING = Field(
    min_length=1,
    max_length=MAX_DOCUMENTS,
    description="The documents to bring or correct: catalogue type codes (printed with the "
    "catalogue's names) or names as the desk writes them.",
)


class DeskSupplementRequest(_DossierRequest):
    """A desk asks the applicant to supplement a dossier it was handed (Mẫu 02) instead of
    refusing it: the dossier gets a code and waits for the supplement, not received."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "procedure_code": "1.001193",
                    "receiving_unit": "001.21.31.H59",
                    "applicant": EXAMPLE_APPLICANT,
                    "documents": EXAMPLE_DOCUMENTS[:1],
                    "missing_documents": ["birth_certificate"],
                    "guidance": "Bổ sung giấy chứng sinh do cơ sở y tế cấp (bản chính).",
                }
            ]
        }
    )

    documents: list[DocumentIn] = Field(default_factory=list, max_length=MAX_DOCUMENTS)
    missing_documents: list[MissingDocument] = MISSING
    guidance: str = GUIDANCE


class SupplementRequestIn(_Request):
    """A desk asks the applicant to supplement an online submission it checked (Mẫu 02)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "missing_documents": ["birth_certificate", "Bản sao giấy đăng ký kết hôn"],
                    "guidance": "Bổ sung giấy chứng sinh; bản sao phải có chứng thực.",
                }
            ]
        }
    )

    missing_documents: list[MissingDocument] = MISSING
    guidance: str = GUIDANCE


class SupplementIn(_Request):
    """The applicant supplements a dossier the desk asked to complete before receiving it."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"documents": [EXAMPLE_DOCUMENTS[-1]]}]}
    )

    documents: list[DocumentIn] = Field(
        min_length=1, max_length=MAX_DOCUMENTS, description="The documents brought."
    )


class DenialRequest(_Request):
    """A desk refuses an online submission after checking it."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"reason": "Hồ sơ không đúng thẩm quyền."}]}
    )

    reason: str = Field(min_length=1, max_length=2000, pattern=TEXT)


class WithdrawalRequest(_Request):
    """The applicant withdraws the dossier."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"reason": "Tôi không còn nhu cầu."}]}
    )

    reason: str | None = Field(None, max_length=2000, pattern=TEXT)


class SubjectAccessRequest(_Request):
    """A data subject's access request: whose data, by identity document. In the body, so
    the number never appears in a URL, an access log or a trace."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"identity_type": "citizen_id", "identity_number": "079301001234"}]
        }
    )

    identity_type: IdentityType = Field("citizen_id", description="Kind of identity document.")
    identity_number: str = Field(
        min_length=6,
        max_length=20,
        description="Citizen ID (12 digits) or passport number, as the applicant gave it.",
    )

    @field_validator("identity_number")
    @classmethod
    def _identity_format(cls, number: str, info: ValidationInfo) -> str:
        return identity_number_of(number, info)


class SubjectDossier(BaseModel):
    """One dossier of the subject, as intake stores it."""

    code: str
    channel: SubmissionChannel
    procedure_code: str
    procedure_version: str
    receiving_unit: str
    holding_unit: str
    state: DossierState | None
    submitted_at: datetime
    received_at: datetime | None
    appointment_date: date | None
    created_at: datetime
    erased: bool = Field(description="Whether the retention erased its personal fields.")
    personal_data_erased_at: datetime | None
    personal_data: dict[str, Any] = Field(
        description="Every personal field as stored, by path (``*``: each item of a list): "
        "the identity hash, name, contact, address, document names, notes, reasons."
    )
    contact_preferences: dict[str, Any] = Field(
        description="The applicant's preferred channels and language, as stored."
    )
    history: list[dict[str, Any]] = Field(description="The dossier's public steps.")


class SubjectAccessAnswer(BaseModel):
    """What intake holds about one data subject."""

    model_config = ConfigDict(json_schema_extra={"examples": [SUBJECT_ACCESS_EXAMPLE]})

    service: Literal["intake"] = "intake"
    identity_type: IdentityType
    answered_at: datetime
    dossiers: list[SubjectDossier] = Field(
        description="Every stored dossier whose identity hash is the subject's, oldest first. "
        "A dossier erased by the retention no longer holds the hash and is not found."
    )
    truncated: bool = Field(
        False,
        description="More dossiers hold the hash than one answer lists (1,000): these are "
        "the oldest; the rest are not listed (rare: one person's dossiers at one desk "
        "system).",
    )


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


class CatalogueInfo(BaseModel):
    """The catalogue data release being served."""

    configuration: str
    version: str


class UnitOut(Unit):
    """An administrative unit or agency, as loaded from the versioned catalogue."""

    model_config = ConfigDict(json_schema_extra={"examples": [UNIT_EXAMPLE]})


class UnitPage(BaseModel):
    """One page of units, in code order."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "catalogue": {"configuration": "three-level", "version": "2026.11.1"},
                    "total": 1,
                    "limit": 50,
                    "offset": 0,
                    "items": [UNIT_EXAMPLE],
                }
            ]
        }
    )

    catalogue: CatalogueInfo
    total: int
    limit: int
    offset: int
    items: list[UnitOut]


class ProcedureOut(Procedure):
    """A procedure (thủ tục hành chính) with its route and its total budget in working days."""

    model_config = ConfigDict(json_schema_extra={"examples": [PROCEDURE_EXAMPLE]})

    @computed_field(description="Sum of the step budgets, in working days.")  # type: ignore[prop-decorator]
    @property
    def total_budget_days(self) -> int:
        return sum(step.budget_days for step in self.route)


class ProcedurePage(BaseModel):
    """One page of procedures, in code order."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "catalogue": {"configuration": "three-level", "version": "2026.11.1"},
                    "total": 1,
                    "limit": 50,
                    "offset": 0,
                    "items": [PROCEDURE_EXAMPLE],
                }
            ]
        }
    )

    catalogue: CatalogueInfo
    total: int
    limit: int
    offset: int
    items: list[ProcedureOut]


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
