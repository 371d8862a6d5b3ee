"""The dispatcher's side of the ``notifications`` collection: claims, attempts, outcomes.

A record's ``status`` moves pending -> sending (claimed with a lease) -> sent | failed;
``held`` waits for a paused subscriber, ``skipped`` was never sent (its subscription was
deleted). Every attempt is appended as it ends. ``DeliveryStore`` is the part of
``store.NotificationStore`` that claims records, renews and gives back claims, appends
attempts and settles outcomes.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING, ReturnDocument, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection

from shared.mongo.client import Document, Session, run_in_transaction, update_many_in_transaction


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
# Records of one transaction share a millisecond: with ``_id`` last no two compare
# equal, so the store sorts them and is done, instead of working out the order
# mongod's plan would leave equal ones in (0.5 ms of store CPU per claim instead of 1.3).
OLDEST_FIRST = [("created_at", ASCENDING), ("_id", ASCENDING)]


class DeliveryStore:
    """Claiming, attempts and outcomes of delivery records (``NotificationStore`` has it)."""

    notifications: AsyncCollection[Document]

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
