"""The inbox: processed event ids per consumer, so a redelivered event changes nothing.

The inbox record is inserted in the same transaction as the handler's effect, and a
unique index on (consumer, event id) makes the second insert fail. There is no
check-then-act: two workers racing on one event cannot both commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.errors import BulkWriteError, DuplicateKeyError

from shared.envelope import Envelope
from shared.mongo.client import Database, Session

DUPLICATE_KEY = 11000
INBOX_RETENTION_S = 400 * 24 * 3600  # audit.events keeps 365 days, the rest 90 or less


class AlreadyProcessed(Exception):
    """The event was already handled by this consumer; the transaction must be dropped."""


@dataclass(frozen=True)
class FirstUse:
    """What was first processed under an id an HTTP Idempotency-Key gave."""

    type: str
    subject: str
    fingerprint: str | None  # of the request (``shared.idempotency``), if claimed with one

    def is_retry(self, envelope: Envelope, fingerprint: str) -> bool:
        """Whether this is the same request again (else the key is reused)."""
        if self.fingerprint is not None:
            return self.fingerprint == fingerprint
        return (self.type, self.subject) == (envelope.type, envelope.subject)  # an older claim


class Inbox:
    """Processed-event records of one service database."""

    def __init__(self, db: Database) -> None:
        self._records = db["inbox"]

    async def ensure_indexes(self) -> None:
        await self._records.create_index(
            [("consumer", ASCENDING), ("event_id", ASCENDING)], unique=True, name="consumer_event"
        )
        # Kept longer than any topic retains a message (or a dead letter can be replayed).
        await self._records.create_index(
            "processed_at", expireAfterSeconds=INBOX_RETENTION_S, name="processed_at_ttl"
        )

    async def claim(
        self,
        consumer: str,
        envelope: Envelope,
        session: Session,
        now: datetime,
        *,
        fingerprint: str | None = None,
    ) -> None:
        """Record the event as processed by ``consumer``; raise AlreadyProcessed if it was.

        A duplicate key aborts the surrounding transaction on the server, so this raises
        rather than returning: the caller must not go on writing in that transaction.
        ``fingerprint`` keeps what the request asked, for ``first_use``.
        """
        extra = {} if fingerprint is None else {"fingerprint": fingerprint}
        await self._insert([_record(consumer, envelope, now, **extra)], session)

    async def claim_all(
        self, consumer: str, envelopes: Sequence[Envelope], session: Session, now: datetime
    ) -> None:
        """Record a batch of events as processed, in one write; AlreadyProcessed if any was.

        A batch checks ``processed_among`` first, so a duplicate here means another
        worker committed one of these events meanwhile: the whole transaction must go.
        """
        if envelopes:
            await self._insert([_record(consumer, e, now) for e in envelopes], session)

    async def _insert(self, records: list[dict[str, Any]], session: Session) -> None:
        try:
            await self._records.insert_many(records, session=session)
        except DuplicateKeyError as exc:
            raise AlreadyProcessed(str(records[0]["event_id"])) from exc
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if not errors or any(e.get("code") != DUPLICATE_KEY for e in errors):
                raise
            raise AlreadyProcessed(str(errors[0].get("op", {}).get("event_id"))) from exc

    async def processed_among(
        self, consumer: str, event_ids: Sequence[str], session: Session
    ) -> set[str]:
        """Which of these events the consumer already processed (one query)."""
        cursor = self._records.find(
            {"consumer": consumer, "event_id": {"$in": list(event_ids)}},
            {"event_id": 1, "_id": 0},
            session=session,
        )
        return {str(doc["event_id"]) async for doc in cursor}

    async def first_use(self, consumer: str, event_id: str) -> FirstUse | None:
        """What was first processed under this id (an HTTP Idempotency-Key), or None."""
        doc = await self._records.find_one(
            {"consumer": consumer, "event_id": event_id},
            {"type": 1, "subject": 1, "fingerprint": 1, "_id": 0},
        )
        if doc is None:
            return None
        fingerprint = doc.get("fingerprint")
        return FirstUse(str(doc.get("type")), str(doc.get("subject")), fingerprint)

    async def seen(self, consumer: str, event_id: str) -> bool:
        """Whether the consumer already processed this event (for diagnostics and tests)."""
        return (
            await self._records.count_documents(
                {"consumer": consumer, "event_id": event_id}, limit=1
            )
            > 0
        )


def _record(consumer: str, envelope: Envelope, now: datetime, **extra: Any) -> dict[str, Any]:
    return {
        "consumer": consumer,
        "event_id": envelope.id,
        "type": envelope.type,
        "subject": envelope.subject,
        "processed_at": now,
        **extra,
    }
