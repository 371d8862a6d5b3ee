"""The applicant's contact per dossier, as a batch of events sees it and changes it.

``contacts`` holds one document per dossier: the applicant's contact once registered,
and the applicant facts that arrived before it (``waiting``). A batch of events reads
the documents of its dossiers once (``ContactBook``), works on them in memory in event
order, and writes its changes in one ordered bulk write, each change the update a
single event would have made. Both paths write the dossier's document, so a fact and
its contact handled at the same time in two transactions conflict and one retries: no
fact is left waiting for a contact already stored.

A dossier's contact may be registered again (intake corrects it on the applicant's
request): the latest registration holds, by its ``registered_at``, so one older than
the contact kept (a dead letter put back, say) changes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime

from shared.events.applicant import ContactDetails
from shared.mongo.client import Document


class ContactBook:
    """The contacts documents of a batch's dossiers, and the updates the batch makes."""

    def __init__(self, documents: dict[str, Document]) -> None:
        self.documents = documents
        self.updates: list[tuple[str, Document]] = []  # (dossier code, update), in order

    def contact(self, dossier_code: str) -> ContactDetails | None:
        """The dossier's registered contact, if any."""
        doc = self.documents.get(dossier_code)
        if doc is None or "contact" not in doc:
            return None
        stored = doc["contact"]  # older documents also held the identity hash: not needed
        return ContactDetails.model_validate({k: stored[k] for k in ContactDetails.model_fields})

    def supersedes(self, dossier_code: str, registered_at: datetime | None) -> bool:
        """Whether the contact kept for the dossier was registered after ``registered_at``
        (None: a legacy fact's contact, which carries no time and never loses)."""
        doc = self.documents.get(dossier_code) or {}
        kept_at = doc.get("registered_at")
        if registered_at is None or not isinstance(kept_at, datetime) or "contact" not in doc:
            return False
        return _utc(kept_at) > _utc(registered_at)

    def keep(
        self,
        dossier_code: str,
        contact: ContactDetails,
        now: datetime,
        expires_at: datetime,
        registered_at: datetime | None = None,
    ) -> list[str]:
        """Keep the dossier's contact; returns the facts that waited for it (envelopes)."""
        before = self.documents.get(dossier_code) or {}
        fields = {
            "contact": contact.model_dump(mode="json"),
            "updated_at": now,
            "expires_at": expires_at,
            **({"registered_at": registered_at} if registered_at is not None else {}),
        }
        after = {k: v for k, v in before.items() if k != "waiting"}
        self.documents[dossier_code] = {**after, "_id": dossier_code, **fields}
        self.updates.append((dossier_code, {"$set": fields, "$unset": {"waiting": ""}}))
        return [str(item["envelope"]) for item in before.get("waiting", [])]

    def wait(self, dossier_code: str, envelope: str, event_id: str, expires_at: datetime) -> None:
        """Park an applicant fact until the dossier's contact arrives (each event once)."""
        doc = self.documents.setdefault(
            dossier_code, {"_id": dossier_code, "expires_at": expires_at}
        )
        item = {"event_id": event_id, "envelope": envelope}
        waiting = doc.setdefault("waiting", [])
        if item not in waiting:
            waiting.append(item)
        self.updates.append(
            (
                dossier_code,
                {"$addToSet": {"waiting": item}, "$setOnInsert": {"expires_at": expires_at}},
            )
        )


def _utc(moment: datetime) -> datetime:
    """A moment comparable with any other (a time without a zone is read as UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
