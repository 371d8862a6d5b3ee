"""The notification service's collections: contacts, notifications, subscriptions.

``contacts`` holds one document per dossier (``contacts.ContactBook``: the applicant's
contact once registered, and the applicant facts that arrived before it). Contacts and
applicant delivery records expire (TTL on ``expires_at``) after the personal-data
retention, unit and subscriber delivery records (which keep the event) after the
delivery-record retention.

``notifications`` holds one record per (source event, recipient, channel), unique,
written before anything is sent. Its ``status`` moves pending -> sending (claimed
with a lease) -> sent | failed; ``held`` waits for a paused subscriber, ``skipped``
was never sent (its subscription was deleted). Every attempt is appended as it ends.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING, ReturnDocument, UpdateOne

from notification.contacts import ContactBook
from notification.domain import SubscriptionStatus, SubscriptionView, should_pause
from shared.mongo.client import (
    Database,
    Document,
    Session,
    run_in_transaction,
    update_many_in_transaction,
)


@dataclass(frozen=True)
class Claimed:
    """Records claimed under one claim id, and whether more may be claimable now."""

    records: list[Document]
    more: bool


@dataclass(frozen=True)
class AttemptEntry:
    """One attempt to append to a record (``number``, ``at``, ``outcome``, ``error``)."""

    notification_id: str
    attempt: Document


@dataclass(frozen=True)
class StatusChange:
    """A claimed record leaving ``sending``."""

    notification_id: str
    claim_id: str
    status: str
    fields: Document

    def claimed(self) -> Document:
        """The record, only while this claim holds it."""
        return {"_id": self.notification_id, "claim": self.claim_id, "status": SENDING}

    def update(self) -> Document:
        return {"$set": {"status": self.status, **self.fields}, "$unset": {"lease_until": ""}}


PENDING, HELD, SENDING, SENT, FAILED, SKIPPED = (
    "pending", "held", "sending", "sent", "failed", "skipped",
)  # fmt: skip
DELETED = "deleted"
# Records of one transaction share a millisecond: with ``_id`` last no two compare
# equal, so the store sorts them and is done, instead of working out the order
# mongod's plan would leave equal ones in (0.5 ms of store CPU per claim instead of 1.3).
OLDEST_FIRST = [("created_at", ASCENDING), ("_id", ASCENDING)]


class NotificationStore:
    """Reads and writes of this service's database."""

    def __init__(self, db: Database) -> None:
        self.contacts = db["contacts"]
        self.notifications = db["notifications"]
        self.subscriptions = db["subscriptions"]
        # Called once this instance changed which subscriptions are live (created,
        # deleted, resumed): a reading of them kept in memory is stale from then on.
        self.subscriptions_changed: Callable[[], None] = _nothing

    async def ensure_indexes(self) -> None:
        await self.notifications.create_index(
            [("source_event_id", ASCENDING), ("recipient_ref", ASCENDING), ("channel", ASCENDING)],
            unique=True,
            name="one_per_recipient_and_channel",
        )
        await self.notifications.create_index([("status", ASCENDING), ("created_at", ASCENDING)])
        await self.notifications.create_index(
            [("dossier_code", ASCENDING), ("created_at", ASCENDING)]
        )
        await self.notifications.create_index(
            [("subscription_id", ASCENDING), ("status", ASCENDING)]
        )
        await self.subscriptions.create_index([("status", ASCENDING)])
        # Deleted once their retention has passed: contacts and applicant deliveries (the
        # personal-data retention), unit and subscriber deliveries (the record retention).
        for collection in (self.contacts, self.notifications):
            await collection.create_index(
                "expires_at", expireAfterSeconds=0, name="personal_data_expiry"
            )

    async def expire_kept_records(self, expires_at: datetime, batch: int = 500) -> int:
        """Give the delivery records stored without an expiry (unit and subscriber
        deliveries written before they had one) this one; returns how many.

        A batch at a time, each in a transaction of its own (``update_many_in_transaction``
        says why a multi-document update needs one here; batches keep a first start on a
        large store within the transaction time limit).

        It runs at every start, with no marker saying it is done: once every record has an
        expiry, the expiry index answers it reading no record (whatever the store holds) and
        it waits on no other instance's transaction; and during a rolling upgrade, records
        an older instance still writes without an expiry get one at the next start, where a
        marker would keep them for ever."""
        missing = {"expires_at": {"$exists": False}}
        expired = 0
        while ids := [
            d["_id"] async for d in self.notifications.find(missing, {"_id": 1}).limit(batch)
        ]:
            selection = {"_id": {"$in": ids}, **missing}
            expired += await update_many_in_transaction(
                self.notifications, selection, {"$set": {"expires_at": expires_at}}
            )
        return expired

    # contacts ----------------------------------------------------------------------------

    async def contact_book(self, dossier_codes: Collection[str], session: Session) -> ContactBook:
        """The contacts documents of these dossiers, read in one query."""
        if not dossier_codes:
            return ContactBook({})
        cursor = self.contacts.find({"_id": {"$in": list(dossier_codes)}}, session=session)
        return ContactBook({str(doc["_id"]): doc async for doc in cursor})

    async def save_contacts(self, book: ContactBook, session: Session) -> None:
        """Write what a batch changed in its contacts documents, in order, in one call."""
        if book.updates:
            await self.contacts.bulk_write(
                [UpdateOne({"_id": code}, update, upsert=True) for code, update in book.updates],
                ordered=True,
                session=session,
            )

    # notifications -----------------------------------------------------------------------

    async def record_all(self, docs: list[Document], session: Session) -> set[str]:
        """Insert notifications, each unless one with its key exists (then change nothing),
        in one call; the ids of those inserted."""
        if not docs:
            return set()
        keys = ("source_event_id", "recipient_ref", "channel")
        result = await self.notifications.bulk_write(
            [
                UpdateOne({k: doc[k] for k in keys}, {"$setOnInsert": doc}, upsert=True)
                for doc in docs
            ],
            ordered=True,
            session=session,
        )
        return {docs[index]["_id"] for index in result.upserted_ids or {}}

    async def claim(
        self,
        now: datetime,
        lease: timedelta,
        claim_id: str,
        claimed_by: str = "",
        in_hand: Collection[str] = (),
    ) -> Document | None:
        """Take the oldest claimable record (see ``claim_batch``), atomically."""
        return await self.notifications.find_one_and_update(
            _claimable(now, in_hand),
            {"$set": claim_fields(now, lease, claim_id, claimed_by)},
            sort=OLDEST_FIRST,
            return_document=ReturnDocument.AFTER,
        )

    async def claim_batch(
        self,
        now: datetime,
        lease: timedelta,
        claim_id: str,
        claimed_by: str,
        limit: int,
        in_hand: Collection[str] = (),
    ) -> Claimed:
        """Take up to ``limit`` of the oldest records pending, or whose sender's lease lapsed,
        under one claim id: one read when there is none (an idle scan), three round trips
        whatever the batch otherwise (read, update, commit; one more when another sender
        took one of them meanwhile).

        A live sender never takes back the deliveries it still has in hand (``in_hand``, its
        claim ids): it renews them, and a stalled event loop must not make it send one
        twice. A claim of its own whose delivery ended unsettled (the store went away)
        lapses and is taken again like anyone's. The update checks each record again, as
        it was read (every write of a sender moves its lease), so of two senders racing
        for one record only one gets it, and nobody takes a record on a stale reading:
        the read needs no transaction. The check names the record's lease and status as
        read rather than repeating the ``$or`` above: the same records (a pending one
        stays claimable, a lapsed lease stays lapsed, and any change of claim, lease or
        status moves the lease or the status), for 40 % less store CPU per write
        (``python -m bench.store_shapes notification_claim_write
        notification_claim_write_as_read``).
        """
        claimable = _claimable(now, in_hand)
        fields = claim_fields(now, lease, claim_id, claimed_by)
        cursor = self.notifications.find(claimable)
        found = await cursor.sort(OLDEST_FIRST).limit(limit).to_list()
        if not found:
            return Claimed([], more=False)
        more = len(found) == limit  # a full batch: more may be waiting

        # In a transaction of its own: several records, which a transaction storing
        # outcomes may be writing too (see ``update_many_in_transaction``).
        async def claim(session: Session) -> Claimed:
            result = await self.notifications.bulk_write(
                [
                    UpdateOne(
                        {
                            "_id": doc["_id"],
                            "lease_until": doc.get("lease_until"),
                            "status": doc["status"],
                        },
                        {"$set": fields},
                    )
                    for doc in found
                ],
                ordered=False,
                session=session,
            )
            if result.modified_count == len(found):
                return Claimed([{**doc, **fields} for doc in found], more)
            claimed = self.notifications.find(
                {"claim": claim_id, "status": SENDING}, session=session
            )
            return Claimed(await claimed.sort(OLDEST_FIRST).to_list(), more)

        return await run_in_transaction(self.notifications.database.client, claim)

    async def give_back(self, claim_ids: list[str]) -> int:
        """Return the records of claims never started to ``pending`` (a stopping sender)."""
        if not claim_ids:
            return 0
        return await update_many_in_transaction(
            self.notifications,
            {"claim": {"$in": claim_ids}, "status": SENDING},
            {"$set": {"status": PENDING}, "$unset": {"lease_until": "", "claim": ""}},
        )

    async def extend_claims(self, claim_ids: list[str], lease_until: datetime) -> None:
        """Keep the claims of deliveries still in hand (a live sender's claims never lapse)."""
        if claim_ids:
            await update_many_in_transaction(
                self.notifications,
                {"claim": {"$in": claim_ids}, "status": SENDING},
                {"$set": {"lease_until": lease_until}},
            )

    async def release_claims_of(self, claimed_by: str) -> int:
        """Give back what an earlier life of this instance had in hand when it died.

        Called before the instance claims anything, so every such claim is stale; the
        records keep their attempts (one that went out is finished, not sent again).
        """
        return await update_many_in_transaction(
            self.notifications,
            {"status": SENDING, "claimed_by": claimed_by},
            {"$set": {"status": PENDING}, "$unset": {"lease_until": "", "claim": ""}},
        )

    async def confirm_claim(
        self, notification_id: str, claim_id: str, lease_until: datetime
    ) -> Document | None:
        """Renew a claim and return the record, or None if the claim is no longer held."""
        return await self.notifications.find_one_and_update(
            {"_id": notification_id, "claim": claim_id, "status": SENDING},
            {"$set": {"lease_until": lease_until}},
            return_document=ReturnDocument.AFTER,
        )

    async def add_attempt(
        self,
        notification_id: str,
        attempt: Document,
        lease_until: datetime,
    ) -> None:
        """Append one attempt (see ``add_attempts``)."""
        await self.add_attempts([AttemptEntry(notification_id, attempt)], lease_until)

    async def add_attempts(self, entries: list[AttemptEntry], lease_until: datetime) -> None:
        """Append attempts and extend their claims (a live sender keeps its leases), in
        one write.

        An attempt is kept even if this sender's claim was lost meanwhile: a message
        that went out must be on record, so that whoever holds the record now does not
        send it again.
        """
        if not entries:
            return
        await self.notifications.bulk_write(
            [
                UpdateOne(
                    {"_id": entry.notification_id, "status": SENDING},
                    {"$push": {"attempts": entry.attempt}, "$set": {"lease_until": lease_until}},
                )
                for entry in entries
            ],
            ordered=False,
        )

    async def settle(
        self,
        notification_id: str,
        claim_id: str,
        status: str,
        fields: Document,
        session: Session | None = None,
    ) -> bool:
        """Leave ``sending`` for a final (or held) status; False if the claim was lost."""
        change = StatusChange(notification_id, claim_id, status, fields)
        return notification_id in await self.settle_all([change], session)

    async def settle_all(self, changes: list[StatusChange], session: Session | None) -> set[str]:
        """Settle several claims in one write; the ids whose claim still held (one more
        query only when some had been lost)."""
        if not changes:
            return set()
        result = await self.notifications.bulk_write(
            [UpdateOne(change.claimed(), change.update()) for change in changes],
            ordered=False,
            session=session,
        )
        ids = [change.notification_id for change in changes]
        if result.modified_count == len(changes):
            return set(ids)
        if len(changes) == 1:
            return set()
        expected = {change.notification_id: (change.claim_id, change.status) for change in changes}
        cursor = self.notifications.find(
            {"_id": {"$in": ids}}, {"claim": 1, "status": 1}, session=session
        )
        return {
            doc["_id"]
            async for doc in cursor
            if expected[doc["_id"]] == (doc.get("claim"), doc.get("status"))
        }

    async def for_dossier(self, dossier_code: str, limit: int = 500) -> list[Document]:
        cursor = self.notifications.find({"dossier_code": dossier_code}).sort(
            [("created_at", ASCENDING), ("_id", ASCENDING)]
        )
        return await cursor.limit(limit).to_list()

    async def contacts_of(self, dossier_codes: Collection[str]) -> dict[str, Document]:
        """The contacts documents of these dossiers, by code (one query)."""
        cursor = self.contacts.find({"_id": {"$in": list(dossier_codes)}})
        return {str(doc["_id"]): doc async for doc in cursor}

    async def get(self, notification_id: str) -> Document | None:
        return await self.notifications.find_one({"_id": notification_id})

    async def count(self, status: str) -> int:
        return await self.notifications.count_documents({"status": status})

    # subscriptions -----------------------------------------------------------------------

    async def add_subscription(self, doc: Document) -> None:
        await self.subscriptions.insert_one(doc)
        self.subscriptions_changed()

    async def subscription(self, subscription_id: str) -> Document | None:
        return await self.subscriptions.find_one(
            {"_id": subscription_id, "status": {"$ne": DELETED}}
        )

    async def list_subscriptions(self, owner_unit: str | None = None) -> list[Document]:
        """Live subscriptions, in creation order; with ``owner_unit``, only that unit's."""
        query: Document = {"status": {"$ne": DELETED}}
        if owner_unit is not None:
            query["owner_unit"] = owner_unit
        cursor = self.subscriptions.find(query).sort("created_at", 1)
        return await cursor.to_list()

    async def live_subscriptions(self, session: Session | None) -> list[SubscriptionView]:
        """Active and paused subscriptions, for fan-out inside a handler's transaction."""
        cursor = self.subscriptions.find(
            {"status": {"$in": [SubscriptionStatus.ACTIVE.value, SubscriptionStatus.PAUSED.value]}},
            session=session,
        )
        return [
            SubscriptionView(
                id=doc["_id"],
                url=doc["url"],
                event_types=tuple(doc["event_types"]),
                units=tuple(doc.get("units") or ()),
                status=SubscriptionStatus(doc["status"]),
            )
            async for doc in cursor
        ]

    async def delete_subscription(self, subscription_id: str, now: datetime) -> bool:
        """Deactivate, forget the secret, and drop deliveries still held for it."""
        result = await self.subscriptions.update_one(
            {"_id": subscription_id, "status": {"$ne": DELETED}},
            {"$set": {"status": DELETED, "deleted_at": now}, "$unset": {"secret_sealed": ""}},
        )
        self.subscriptions_changed()
        if result.modified_count:
            await update_many_in_transaction(
                self.notifications,
                {"subscription_id": subscription_id, "status": HELD},
                {"$set": {"status": SKIPPED, "error": "subscription deleted"}},
            )
        return result.modified_count == 1

    async def resume_subscription(self, subscription_id: str, now: datetime) -> int:
        """Reactivate and release what was held for it; returns how many were released."""
        await self.subscriptions.update_one(
            {"_id": subscription_id, "status": {"$ne": DELETED}},
            {
                "$set": {"status": SubscriptionStatus.ACTIVE.value, "consecutive_failures": 0},
                "$unset": {"paused_at": "", "paused_reason": ""},
            },
        )
        self.subscriptions_changed()
        return await update_many_in_transaction(
            self.notifications,
            {"subscription_id": subscription_id, "status": HELD},
            {"$set": {"status": PENDING, "released_at": now}},
        )

    async def release_held_of_active(self, now: datetime) -> int:
        """Release what is still held for subscriptions that are active; how many.

        Whether a delivery is held is decided from a reading of its subscription taken
        before its own write: the consumer's (often from memory), or the dispatcher's
        before it settles one ``held``. A resume that commits in between releases what
        was held before it, not that delivery, which would wait for ever. Idempotent: an
        indexed read of the active subscriptions and one of a delivery held for them,
        and the update only when there is one.
        """
        active = (
            await self.subscriptions.find({"status": SubscriptionStatus.ACTIVE.value}, {"_id": 1})
            .sort("_id", ASCENDING)
            .to_list()
        )
        if not active:
            return 0
        held = {"subscription_id": {"$in": [doc["_id"] for doc in active]}, "status": HELD}
        if await self.notifications.find_one(held, {"_id": 1}) is None:
            return 0
        return await update_many_in_transaction(
            self.notifications, held, {"$set": {"status": PENDING, "released_at": now}}
        )

    async def delivery_succeeded(
        self, subscription_id: str, now: datetime, session: Session
    ) -> None:
        await self.subscriptions.update_one(
            {"_id": subscription_id},
            {"$set": {"consecutive_failures": 0, "last_success_at": now}},
            session=session,
        )

    async def delivery_failed(
        self, subscription_id: str, error: str, threshold: int, now: datetime, session: Session
    ) -> bool:
        """Count a failed delivery; pause the subscription at the threshold. True if paused."""
        doc: dict[str, Any] | None = await self.subscriptions.find_one_and_update(
            {"_id": subscription_id},
            {
                "$inc": {"consecutive_failures": 1},
                "$set": {"last_failure_at": now, "last_error": error},
            },
            return_document=ReturnDocument.AFTER,
            session=session,
        )
        if doc is None or doc["status"] != SubscriptionStatus.ACTIVE.value:
            return False
        if not should_pause(int(doc["consecutive_failures"]), threshold):
            return False
        reason = f"{doc['consecutive_failures']} consecutive failed deliveries; last: {error}"
        await self.subscriptions.update_one(
            {"_id": subscription_id},
            {
                "$set": {
                    "status": SubscriptionStatus.PAUSED.value,
                    "paused_at": now,
                    "paused_reason": reason,
                }
            },
            session=session,
        )
        return True


def _nothing() -> None:
    return None


def _claimable(now: datetime, in_hand: Collection[str]) -> Document:
    lapsed: dict[str, Any] = {"status": SENDING, "lease_until": {"$lt": now}}
    if in_hand:
        lapsed["claim"] = {"$nin": list(in_hand)}
    return {"$or": [{"status": PENDING}, lapsed]}


def claim_fields(now: datetime, lease: timedelta, claim_id: str, claimed_by: str) -> Document:
    """A record's fields while ``claimed_by`` holds it under ``claim_id``."""
    return {
        "status": SENDING,
        "claim": claim_id,
        "claimed_by": claimed_by,
        "claimed_at": now,
        "lease_until": now + lease,
    }
