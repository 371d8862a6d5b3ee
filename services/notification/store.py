"""The notification service's collections: contacts, notifications, subscriptions.

``contacts`` holds one document per dossier (``contacts.ContactBook``: the applicant's
contact once registered, and the applicant facts that arrived before it). Contacts and
applicant delivery records expire (TTL on ``expires_at``) after the personal-data
retention, unit and subscriber delivery records (which keep the event) after the
delivery-record retention.

``notifications`` holds one record per (source event, recipient, channel), unique,
written before anything is sent; the dispatcher claims, attempts and settles them
(``delivery_store``). ``subscriptions`` holds agencies' webhook subscriptions
(``subscription_store``). ``NotificationStore`` is every read and write of the three.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime

from pymongo import ASCENDING, UpdateOne

from notification.contacts import ContactBook
from notification.delivery_store import DeliveryStore
from notification.subscription_store import SubscriptionStore
from shared.mongo.client import Database, Document, Session, update_many_in_transaction


class NotificationStore(DeliveryStore, SubscriptionStore):
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


def _nothing() -> None:
    return None
