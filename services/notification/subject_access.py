"""A data subject's access request: what this service holds about one applicant.

Notification keeps no identity hash of its own (intake's identity key stays with intake,
``ApplicantRef``): it knows an applicant by the dossiers their contact was registered
for. So the data protection officer asks intake first (which finds the subject's
dossiers by identity number) and then asks here with those dossier codes. The answer is
built from the stored documents by pure functions: the contact as the service itself
reads it to send (stored in clear in this service's database, nothing to unseal), the
deliveries (an applicant delivery's address is the subject's own and shown as stored; a
unit's or a subscriber's delivery is listed without its address, which is not theirs),
and the national portal's messages (which carry no name or contact).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shared.events.operations import SubjectAccessAnswered
from shared.mongo.client import Document
from shared.unit_of_work import UnitOfWork

if TYPE_CHECKING:
    from notification.portal_sync import PortalSyncStore
    from notification.store import NotificationStore
    from shared.clock import Clock
    from shared.runtime import ServiceRuntime

log = logging.getLogger(__name__)

# A dossier code as intake gives it (loose: older or foreign codes are still looked up).
SubjectDossierCode = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z.\-]+$")
]
# The most dossier codes one request may name, and records listed per dossier.
MAX_DOSSIERS = 200
RECORDS_PER_DOSSIER = 500


class SubjectAccessRequest(BaseModel):
    """The subject's dossiers, as intake's subject access answered them."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"dossier_codes": ["001.21.31.H59-260302-0001"]}]},
    )

    dossier_codes: list[SubjectDossierCode] = Field(
        min_length=1,
        max_length=MAX_DOSSIERS,
        description="The codes intake's POST /v1/subject-access answered for the subject.",
    )


class ContactHeld(BaseModel):
    """The applicant's contact for one dossier, as kept to send."""

    name: str | None
    email: str | None
    phone: str | None
    channels: list[str]
    language: str | None
    stored_at: datetime | None = Field(description="When it was registered (or changed).")
    expires_at: datetime | None = Field(description="When the retention deletes it.")
    facts_waiting: int = Field(description="Facts kept until the contact arrives.")


class DeliveryHeld(BaseModel):
    """One delivery record about the dossier."""

    id: str
    recipient_kind: str
    channel: str
    address: str | None = Field(
        description="The subject's own address for an applicant delivery; None for a "
        "unit's or a subscriber's (not the subject's data)."
    )
    template: str | None
    language: str | None
    status: str
    attempts: int = Field(
        description="Attempts to send it, those of rounds before a redelivery included."
    )
    created_at: datetime
    sent_at: datetime | None
    failed_at: datetime | None
    expires_at: datetime | None


class PortalMessageHeld(BaseModel):
    """One message for the national portal about the dossier (no name, no contact)."""

    id: str
    kind: str
    status: str
    created_at: datetime


class DossierHeld(BaseModel):
    """What notification holds for one of the subject's dossiers."""

    dossier_code: str
    contact: ContactHeld | None
    deliveries: list[DeliveryHeld]
    applicant_deliveries: int = Field(description="Deliveries addressed to the applicant.")
    portal_messages: list[PortalMessageHeld]


class SubjectAccessAnswer(BaseModel):
    service: str = "notification"
    answered_at: datetime
    dossiers: list[DossierHeld]


def contact_held(doc: Document | None) -> ContactHeld | None:
    """The contacts document of a dossier as the answer shows it (None: nothing kept)."""
    if doc is None:
        return None
    contact: dict[str, Any] = doc.get("contact") or {}
    if not contact and not doc.get("waiting"):
        return None
    return ContactHeld(
        name=contact.get("name"),
        email=contact.get("email"),
        phone=contact.get("phone"),
        channels=list(contact.get("channels") or []),
        language=contact.get("language"),
        stored_at=doc.get("updated_at"),
        expires_at=doc.get("expires_at"),
        facts_waiting=len(doc.get("waiting") or []),
    )


def delivery_held(doc: Document) -> DeliveryHeld:
    """A delivery record as the answer shows it: the address only when it is the subject's."""
    applicant = doc.get("recipient_kind") == "applicant"
    return DeliveryHeld(
        id=str(doc["_id"]),
        recipient_kind=str(doc.get("recipient_kind")),
        channel=str(doc.get("channel")),
        address=doc.get("address") if applicant else None,
        template=doc.get("template"),
        language=doc.get("language"),
        status=str(doc.get("status")),
        # A redelivered record keeps its earlier rounds apart (redelivery.py): each sent
        # to the same address, so they count as much as the current round's.
        attempts=len(doc.get("attempts") or []) + len(doc.get("earlier_attempts") or []),
        created_at=doc["created_at"],
        sent_at=doc.get("sent_at"),
        failed_at=doc.get("failed_at"),
        expires_at=doc.get("expires_at"),
    )


def dossier_held(
    code: str,
    contact: Document | None,
    deliveries: list[Document],
    portal_messages: list[Document],
) -> DossierHeld:
    """What the service holds for one dossier, from its stored documents."""
    held = [delivery_held(doc) for doc in deliveries]
    return DossierHeld(
        dossier_code=code,
        contact=contact_held(contact),
        deliveries=held,
        applicant_deliveries=sum(1 for d in held if d.recipient_kind == "applicant"),
        portal_messages=[
            PortalMessageHeld(
                id=str(doc["_id"]),
                kind=str(doc.get("kind")),
                status=str(doc.get("status")),
                created_at=doc["created_at"],
            )
            for doc in portal_messages
        ],
    )


async def answer(
    request: SubjectAccessRequest,
    officer: str,
    *,
    store: NotificationStore,
    portal: PortalSyncStore,
    runtime: ServiceRuntime,
    clock: Clock,
) -> SubjectAccessAnswer:
    """What is held for the named dossiers; the answer is recorded as an operations fact
    (which audit logs) and logged, with the officer and the codes, never a contact."""
    codes = list(dict.fromkeys(request.dossier_codes))  # each once, in the order named
    contacts = await store.contacts_of(codes)
    dossiers = [
        dossier_held(
            code,
            contacts.get(code),
            await store.for_dossier(code, RECORDS_PER_DOSSIER),
            await portal.of_dossier(code, RECORDS_PER_DOSSIER),
        )
        for code in codes
    ]
    answered = SubjectAccessAnswered(
        operator=officer, service="notification", dossier_codes=codes, answered_at=clock.now()
    )

    async def record(uow: UnitOfWork) -> None:
        uow.emit(answered)

    await runtime.run_unit_of_work(record)
    with_contact = [d.dossier_code for d in dossiers if d.contact is not None]
    log.info(
        "subject access answered",
        extra={"officer": officer, "dossiers": codes, "with_contact": with_contact},
    )
    return SubjectAccessAnswer(answered_at=answered.answered_at, dossiers=dossiers)
