"""What a desk or an applicant sends about a dossier: submission, reception decisions,
supplements, withdrawal; with the bounds of every field."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, ValidationInfo, field_validator

from intake.examples import EXAMPLE_APPLICANT, EXAMPLE_DOCUMENTS
from shared.catalogue.model import PROCEDURE_CODE_PATTERN, UNIT_CODE_PATTERN
from shared.events.dossier import DocumentType, Language, ResultDelivery
from shared.text import CleanText

MAX_DOCUMENTS = 50
MAX_DOCUMENT_BYTES = 100_000_000
# One line of text: no control characters at all (C0, DEL and the C1 range U+0080-U+009F,
# which holds the 8-bit CSI U+009B of terminal escapes and NEL U+0085; nobody types them).
LINE = r"^[^\x00-\x1f\x7f-\x9f]+$"
# Free text: line breaks and tabs allowed, other control characters not.
TEXT = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]+$"
_EMAIL_CHAR = r"[^@\s\x00-\x1f\x7f-\x9f]"
EMAIL = rf"^{_EMAIL_CHAR}{{1,64}}@{_EMAIL_CHAR}+\.{_EMAIL_CHAR}+$"
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


class RequestBody(CleanText):
    """Strings NFC-normalised, bidirectional controls refused, before any other rule."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# The applicant's contact fields, as a submission takes them and a correction
# (``schemas.contact_correction``) takes them again: the same bounds for both.
ApplicantName = Annotated[str, Field(min_length=1, max_length=200, pattern=LINE)]
ApplicantEmail = Annotated[str, Field(max_length=254, pattern=EMAIL)]
ApplicantPhone = Annotated[str, Field(pattern=r"^(\+84|0)\d{9,10}$")]
ApplicantAddress = Annotated[str, Field(min_length=1, max_length=300, pattern=LINE)]
ADDRESS_TEXT = (
    "Optional postal address, one line: printed on the forms addressed to the applicant "
    "(Mẫu 01, 02, 03) and the desk's log book (Mẫu 06); kept by intake only, never in events."
)
ApplicantChannels = Annotated[
    list[Literal["email", "sms"]],
    Field(max_length=2, description="Preferred notification channels."),
]


def distinct_channels(channels: list[str]) -> list[str]:
    """``channels`` if none repeats."""
    if len(set(channels)) != len(channels):
        raise ValueError("channels must not repeat")
    return channels


class ApplicantIn(RequestBody):
    """The applicant. The identity number is hashed on arrival and never stored in clear."""

    name: ApplicantName
    identity_type: IdentityType = Field("citizen_id", description="Kind of identity document.")
    identity_number: str = Field(
        min_length=6,
        max_length=20,
        description="Citizen ID (12 digits) or passport number (letter + 5–11 letters/digits).",
    )
    email: ApplicantEmail | None = None
    phone: ApplicantPhone | None = Field(None, description="Vietnamese.")
    address: ApplicantAddress | None = Field(None, description=ADDRESS_TEXT)
    channels: ApplicantChannels = Field(default_factory=list)
    language: Language = Field(Language.VI, description="Language of notifications.")

    @field_validator("identity_number")
    @classmethod
    def _identity_format(cls, number: str, info: ValidationInfo) -> str:
        return identity_number_of(number, info)

    @field_validator("channels")
    @classmethod
    def _reachable(cls, channels: list[str], info: ValidationInfo) -> list[str]:
        distinct_channels(channels)
        for channel, contact in (("email", "email"), ("sms", "phone")):
            if channel in channels and info.data.get(contact) is None:
                raise ValueError(f"the {channel} channel needs the applicant's {contact}")
        return channels


class DocumentIn(RequestBody):
    """A document by reference: the file itself stays with the submitter."""

    name: str = Field(min_length=1, max_length=200, pattern=LINE)
    type: DocumentType
    size_bytes: int = Field(ge=1, le=MAX_DOCUMENT_BYTES, strict=True)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the content, hex.")


class _DossierRequest(RequestBody):
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


class SupplementRequestIn(RequestBody):
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


class SupplementIn(RequestBody):
    """The applicant supplements a dossier the desk asked to complete before receiving it."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"documents": [EXAMPLE_DOCUMENTS[-1]]}]}
    )

    documents: list[DocumentIn] = Field(
        min_length=1, max_length=MAX_DOCUMENTS, description="The documents brought."
    )


class DenialRequest(RequestBody):
    """A desk refuses an online submission after checking it."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"reason": "Hồ sơ không đúng thẩm quyền."}]}
    )

    reason: str = Field(min_length=1, max_length=2000, pattern=TEXT)


class WithdrawalRequest(RequestBody):
    """The applicant withdraws the dossier."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"reason": "Tôi không còn nhu cầu."}]}
    )

    reason: str | None = Field(None, max_length=2000, pattern=TEXT)
