"""The ``subscriptions`` collection: agencies' webhook subscriptions, their pauses after
failed deliveries, and the delivery records held for a paused one.

``SubscriptionStore`` is the part of ``store.NotificationStore`` that writes and reads
subscriptions; every change of which subscriptions are live calls
``subscriptions_changed``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection

from notification.delivery_store import HELD, PENDING, SKIPPED
from notification.subscription_rules import SubscriptionStatus, SubscriptionView, should_pause
from shared.mongo.client import Document, Session, update_many_in_transaction

DELETED = "deleted"


class SubscriptionStore:
    """Subscriptions and what is held for them (``NotificationStore`` has it)."""

    notifications: AsyncCollection[Document]
    subscriptions: AsyncCollection[Document]
    subscriptions_changed: Callable[[], None]

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
