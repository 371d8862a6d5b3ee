"""Applicants' contacts, on ``applicant.contacts``: the one channel personal data travels.

Intake registers the applicant's name and contact when it creates a dossier, and the
whole contact again when it corrects it on the applicant's request (the latest
registration of a dossier is its contact; the topic is keyed by dossier code); only
notification may read this topic (its ACL admits the notification principal alone,
see the README, "Kafka: who may use which topic"). Dossier facts name the applicant by
a keyed hash only, and notification joins the two by dossier code. Audit does not log
this topic, so the tamper-evident log never holds contact data that would have to be
erased.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import Field

from shared.events.dossier import Channel, DossierCode, Language
from shared.events.personal import PersonalText
from shared.events.registry import ContractModel, EventData, register
from shared.topics import APPLICANT_CONTACTS, TopicSpec


class ContactDetails(ContractModel):
    """How to reach the applicant: what notification needs, nothing more."""

    name: PersonalText = Field(min_length=1, max_length=200)
    email: PersonalText | None = Field(None, max_length=254)
    phone: PersonalText | None = Field(None, max_length=20)
    channels: list[Channel] = Field(default_factory=list, description="Preferred channels.")
    language: Language = Language.VI


@register
class ApplicantContactRegistered(EventData):
    """Intake took a dossier and registered how to reach its applicant, or registered it
    again, corrected on the applicant's request (the latest one holds)."""

    EVENT_TYPE: ClassVar[str] = "applicant.contact.registered.v1"
    TOPIC: ClassVar[TopicSpec] = APPLICANT_CONTACTS

    dossier_code: DossierCode = Field(min_length=1, max_length=64)
    contact: ContactDetails
    registered_at: datetime

    def subject(self) -> str:
        return self.dossier_code
