"""A correction of an applicant's contact details on their request, and what intake
answers (which fields changed, never their values)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from intake.schemas.requests import (
    ADDRESS_TEXT,
    TEXT,
    ApplicantAddress,
    ApplicantChannels,
    ApplicantEmail,
    ApplicantName,
    ApplicantPhone,
    RequestBody,
    distinct_channels,
)
from shared.events.dossier import Language
from shared.events.operations import ContactField

# The fields a correction may change, as the request names them (``address`` is the
# stored ``applicant_address``; the others are the stored ``applicant``'s).
CONTACT_FIELDS: tuple[ContactField, ...] = (
    "name",
    "email",
    "phone",
    "address",
    "channels",
    "language",
)
# What may be cleared with ``null``; a name, the channels and the language always have a
# value (``[]`` clears the channels).
CLEARABLE: frozenset[str] = frozenset({"email", "phone", "address"})


class ContactCorrectionRequest(RequestBody):
    """The corrected fields, each as a submission takes it, and why. A field left out is
    kept as stored; ``null`` clears an e-mail, phone or address."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "email": "an.nguyen@example.vn",
                    "channels": ["email"],
                    "reason": "Đương sự yêu cầu sửa email (phiếu yêu cầu số 12/2026)",
                }
            ]
        }
    )

    name: ApplicantName | None = Field(None, description="The applicant's name.")
    email: ApplicantEmail | None = Field(None, description="`null` clears it.")
    phone: ApplicantPhone | None = Field(None, description="Vietnamese. `null` clears it.")
    address: ApplicantAddress | None = Field(None, description=ADDRESS_TEXT + " `null` clears it.")
    channels: ApplicantChannels | None = Field(
        None, description="Preferred channels; each needs its address (as corrected)."
    )
    language: Language | None = Field(None, description="Language of notifications.")
    reason: str = Field(
        min_length=1,
        max_length=2000,
        pattern=TEXT,
        description="Why: the applicant's request as recorded (kept in the audit log, "
        "sealed under the dossier's key).",
    )

    @field_validator("name", "channels", "language")
    @classmethod
    def _not_cleared(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("cannot be cleared, only corrected")
        return value

    @field_validator("channels")
    @classmethod
    def _distinct(cls, channels: list[str]) -> list[str]:
        return distinct_channels(channels)

    def given(self) -> dict[str, Any]:
        """The contact fields the request names (a ``null`` one included), by name."""
        return {
            name: getattr(self, name) for name in CONTACT_FIELDS if name in self.model_fields_set
        }


class ContactCorrected(BaseModel):
    """What a correction changed: the fields, never their values."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "dossier_code": "001.21.31.H59-261202-0001",
                    "corrected_fields": ["email", "channels"],
                    "corrected_by": "dpo",
                    "corrected_at": "2026-12-02T03:15:00Z",
                }
            ]
        }
    )

    dossier_code: str
    corrected_fields: list[ContactField] = Field(description="The fields whose values changed.")
    corrected_by: str = Field(description="The account that corrected them.")
    corrected_at: datetime
