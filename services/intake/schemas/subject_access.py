"""A data subject's access request to intake and what intake answers."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from intake.examples import SUBJECT_ACCESS_EXAMPLE
from intake.schemas.requests import IdentityType, RequestBody, SubmissionChannel, identity_number_of
from shared.events.dossier import DossierState


class SubjectAccessRequest(RequestBody):
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
