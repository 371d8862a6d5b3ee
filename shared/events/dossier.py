"""Facts about dossiers, published on ``dossier.events`` keyed by dossier code.

Every dossier fact carries the dossier's ``state`` and ``holding_unit`` after the
fact, so a read model (the applicant look-up, dashboards) can follow any event
without knowing the workflow rules, and the national portal's status code and exact
label of that state (``portal_status``, ``portal_status_label``; filled from ``state``).
Facts that set a due date name the calendar that counted it (``calendar_version``).

This module holds what the facts share: the states, documents, applicant references
and the ``DossierFact`` base. The facts themselves are grouped by the stage of the
journey: ``reception``, ``withdrawal``, ``handover``, ``pauses``, ``deadlines``,
``closing`` and ``erasure`` (the refused command is in ``commands``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Annotated, Any, ClassVar

import rfc8785
from pydantic import Field, model_validator

from shared.events.personal import Code, InClear, PersonalText
from shared.events.portal import PortalStatus, portal_status
from shared.events.registry import ContractModel, EventData
from shared.topics import DOSSIER_EVENTS, TopicSpec

UnitCode = Annotated[str, InClear("a unit (agency) code")]
DossierCode = Annotated[str, InClear("the dossier code")]


class DossierState(StrEnum):
    """Lifecycle states, as national-portal integrations name them (portal word in comments)."""

    SUBMITTED = "SUBMITTED"  # receiving: online, not yet checked by a desk
    RECEIVED = "RECEIVED"  # new
    DENIED = "DENIED"  # denied at intake
    IN_TRANSFER = "IN_TRANSFER"  # interoperating: waiting for the next unit to accept
    PROCESSING = "PROCESSING"  # processing
    SUPPLEMENT_REQUESTED = "SUPPLEMENT_REQUESTED"  # waiting: clock paused
    AWAITING_PAYMENT = "AWAITING_PAYMENT"  # paying: the clock stands still
    WITHDRAWAL_REQUESTED = "WITHDRAWAL_REQUESTED"  # the applicant asked; the holder stops it
    WITHDRAWN = "WITHDRAWN"  # cancelled by the applicant before any desk received it
    STOPPED = "STOPPED"  # unresolved
    RESULT_READY = "RESULT_READY"  # releasing: back at the returning desk
    DONE = "DONE"  # result handed over


class Channel(StrEnum):
    """Ways to reach an applicant or a unit."""

    EMAIL = "email"
    SMS = "sms"
    WEBHOOK = "webhook"


class ResultDelivery(StrEnum):
    """How the applicant gets the result (it changes the wording of notices and forms)."""

    DESK = "desk"  # collected at the returning desk
    POST = "post"  # sent by public postal service (dịch vụ bưu chính công ích)
    ONLINE = "online"  # electronic result on the portal


CalendarVersion = Annotated[str, InClear("a calendar release")]
"""``WorkingCalendar.provenance``: holidays release and overrides version behind a date."""


class Language(StrEnum):
    VI = "vi"
    EN = "en"


class StepOutcome(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    NEEDS_SUPPLEMENT = "needs_supplement"


# A document type code as the catalogue writes them (``birth_certificate``): the one rule
# for a document handed in, at intake's submission and in routing's supplement alike.
DOCUMENT_TYPE_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"
DocumentType = Annotated[
    Code,
    Field(
        pattern=DOCUMENT_TYPE_PATTERN,
        description="Document type code: a lower-case letter, then up to 63 lower-case "
        "letters, digits or underscores (the catalogue's codes, e.g. birth_certificate).",
    ),
]


class DocumentRef(ContractModel):
    """A submitted document, by reference: the file stays with the submitter."""

    name: PersonalText = Field(min_length=1, max_length=200)
    # Facts keep reading any code: some recorded before the rule (DocumentType) held them.
    type: Code = Field(min_length=1, max_length=64, description="Document type code.")
    size_bytes: int = Field(ge=1, le=100_000_000, description="An empty file is no document.")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class BroughtDocument(DocumentRef):
    """A document handed in with a supplement: its type is a document type code by the
    rule a submission's documents follow at intake, refused as intake refuses it."""

    type: DocumentType


def documents_hash(documents: Sequence[DocumentRef | Mapping[str, Any]]) -> str:
    """SHA-256 (hex) of the RFC 8785 canonical JSON of the document list, in order.

    Part of the contract: ``documents_hash`` in events and hand-over receipts is this.
    """
    plain = [DocumentRef.model_validate(doc).model_dump(mode="json") for doc in documents]
    return hashlib.sha256(rfc8785.dumps(plain)).hexdigest()


class ApplicantRef(ContractModel):
    """The applicant in dossier facts: a keyed hash, no name and no contact.

    Enough to join an applicant's dossiers; the key (``LT_INTAKE_IDENTITY_HASH_KEY``)
    stays with intake, so nobody reading the events can test a guessed number.
    """

    identity_hash: PersonalText = Field(
        description="Keyed HMAC-SHA256 of the identity number (hex)."
    )


class ApplicantContact(ApplicantRef):
    """The applicant with name and contact, as the deprecated v1 facts carried it."""

    name: PersonalText = Field(min_length=1, max_length=200)
    email: PersonalText | None = Field(None, max_length=254)
    phone: PersonalText | None = Field(None, max_length=20)
    channels: list[Channel] = Field(default_factory=list, description="Preferred channels.")
    language: Language = Language.VI


class DossierFact(EventData):
    """Base of every fact about one dossier, which readers apply to its state (intake's
    look-up, the portal sync): its code, and its state and holding unit after the fact
    (with the portal's status of that state)."""

    TOPIC: ClassVar[TopicSpec] = DOSSIER_EVENTS

    dossier_code: DossierCode = Field(min_length=1, max_length=64)
    state: DossierState = Field(description="The dossier's state after this fact.")
    holding_unit: UnitCode = Field(description="The unit holding the dossier after this fact.")
    portal_status: PortalStatus | None = Field(
        None, description="National portal status code (1-10) of `state`; filled from it."
    )
    portal_status_label: Annotated[str, InClear("the portal's label of `state`")] | None = Field(
        None, description="The portal's exact Vietnamese label of `portal_status`."
    )

    @model_validator(mode="before")
    @classmethod
    def _portal_status_from_state(cls, data: Any) -> Any:
        if isinstance(data, dict) and "state" in data and data.get("portal_status") is None:
            status = portal_status(DossierState(data["state"]))
            return {**data, "portal_status": status, "portal_status_label": status.label}
        return data

    @model_validator(mode="after")
    def _portal_status_matches_state(self) -> DossierFact:
        expected = portal_status(self.state)
        if self.portal_status != expected or self.portal_status_label != expected.label:
            raise ValueError(f"portal_status of {self.state.value} is {int(expected)}")
        return self

    def subject(self) -> str:
        return self.dossier_code
