"""Copies of facts held for agency feeds the broker does not have yet (``feed_backlog``).

The outbox relay publishes a fact's copies to its audience's feeds (``shared.kafka.feeds``).
A copy to a feed the broker lacks, and every later copy to that unit's feed while any of
its copies wait, is held here instead, and sent once the feed exists, oldest first, so the
agency system gets every fact of its unit, each dossier's in order, however late its feed
was provisioned. A held copy is the outbox entry as stored, under an id made of the unit,
the subject and the entry's place in the subject's sequence: held twice (the relay
publishing an entry again after a crash), it is stored once, and the ids sort each
dossier's copies in order. Held copies expire with the feed's retention: a fact older
than that would already be gone from a feed that had existed all along.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from pymongo.errors import BulkWriteError

from shared.mongo.client import Database, Document
from shared.mongo.outbox_entry import OutboxEntry
from shared.topics import DOSSIER_EVENTS

COLLECTION = "feed_backlog"
RETENTION = timedelta(milliseconds=DOSSIER_EVENTS.retention_ms)
DUPLICATE_KEY = 11000


def held_id(unit: str, entry: OutboxEntry) -> str:
    """The held copy's id: unit, subject and sequence number (zero-padded, so the ids of
    one subject's copies sort in its order)."""
    return f"{unit}\x1f{entry.subject}\x1f{entry.seq:012d}"


class FeedBacklog:
    """The held copies of one service's relay, in its own database."""

    def __init__(self, db: Database) -> None:
        self._held = db[COLLECTION]

    async def ensure_indexes(self) -> None:
        await self._held.create_index([("unit", 1), ("_id", 1)])
        await self._held.create_index("held_at", expireAfterSeconds=int(RETENTION.total_seconds()))

    async def units(self) -> set[str]:
        """The units with copies waiting."""
        return {str(unit) for unit in await self._held.distinct("unit")}

    async def hold(self, copies: Sequence[tuple[str, OutboxEntry]], now: datetime) -> None:
        """Keep these (unit, entry) copies; one already held stays as it was."""
        documents: list[Document] = [
            {
                "_id": held_id(unit, entry),
                "unit": unit,
                "held_at": now,
                "entry": entry.document(now),
            }
            for unit, entry in copies
        ]
        try:
            await self._held.insert_many(documents, ordered=False)
        except BulkWriteError as error:
            details = error.details.get("writeErrors", [])
            if any(e.get("code") != DUPLICATE_KEY for e in details):
                raise

    async def oldest(self, unit: str, limit: int) -> list[tuple[str, OutboxEntry]]:
        """Up to ``limit`` of the unit's held copies, each subject's in order: (id, entry)."""
        found = self._held.find({"unit": unit}).sort("_id", 1).limit(limit)
        return [(str(doc["_id"]), OutboxEntry.from_document(doc["entry"])) async for doc in found]

    async def release(self, ids: Sequence[str]) -> None:
        """Forget copies sent."""
        await self._held.delete_many({"_id": {"$in": list(ids)}})

    async def count(self) -> int:
        return await self._held.count_documents({})
