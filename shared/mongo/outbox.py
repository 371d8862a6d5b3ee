"""The transactional outbox and its relay to Kafka.

A state change and the events it implies are written in one transaction
(``Outbox.add`` with the caller's session). The relay publishes pending entries in
sequence order and marks them sent; a broker outage delays events, never loses them.
Only one relay instance per database publishes at a time (a lease in MongoDB), so
order holds with several service instances. An entry the broker refuses for itself
(too large, say) can never be published: it is quarantined (status ``quarantined``
with the reason, kept in the outbox, reported to the dead-letter topic, counted and
logged) and the relay goes on with the entries after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from shared.clock import Clock, SystemClock
from shared.envelope import Envelope
from shared.events.registry import REGISTRY
from shared.kafka.deadletter import DeadLetterWriter
from shared.kafka.publisher import Outgoing, Publisher, refused_by_broker
from shared.mongo.client import Database, Session
from shared.mongo.sequences import reserve_in_transaction
from shared.settings import OutboxSettings
from shared.telemetry import (
    OUTBOX_OLDEST_AGE,
    OUTBOX_PENDING,
    OUTBOX_QUARANTINED,
    inject_trace_headers,
)
from shared.topics import ALL_TOPICS, topic_name

log = logging.getLogger(__name__)
TOPICS_BY_NAME = {spec.name: spec for spec in ALL_TOPICS}
PENDING = "pending"
SENT = "sent"
QUARANTINED = "quarantined"
# A dead letter carries the refused envelope only if the broker can take it.
DEAD_LETTER_VALUE_LIMIT = 512 * 1024
BACKLOG_REPORT_S = 1.0
SENT_RETENTION_S = 7 * 24 * 3600


@dataclass(frozen=True)
class PendingEvent:
    """An event to queue, with the trace context of the work that emitted it."""

    envelope: Envelope
    trace_headers: list[tuple[str, str]]


class Outbox:
    """Outgoing events of one service database."""

    def __init__(self, db: Database) -> None:
        self._entries = db["outbox"]
        self._counters = db["counters"]
        self._backlog = False  # the last read filled a batch: read the fair way first

    async def ensure_indexes(self) -> None:
        await self._entries.create_index(
            [("status", ASCENDING), ("created_at", ASCENDING), ("_id", ASCENDING)]
        )
        await self._entries.create_index(
            [("subject", ASCENDING), ("seq", ASCENDING)], unique=True, name="subject_seq_unique"
        )
        await self._entries.create_index(
            [("status", ASCENDING), ("subject", ASCENDING), ("seq", ASCENDING)]
        )
        # Published entries are only kept for diagnostics; pending ones have no sent_at.
        await self._entries.create_index(
            "sent_at", expireAfterSeconds=SENT_RETENTION_S, name="sent_at_ttl"
        )

    async def add(self, envelope: Envelope, session: Session, now: datetime) -> None:
        """Queue an event in the caller's transaction; its topic comes from its contract."""
        headers = [(k, v.decode()) for k, v in inject_trace_headers([])]
        await self.add_all([PendingEvent(envelope, headers)], session, now)

    async def add_all(self, events: list[PendingEvent], session: Session, now: datetime) -> None:
        """Queue events, in order, in the caller's transaction (a unit of work's facts).

        One counter write per subject (one read and one bulk write for many subjects)
        and one insert for all: a batch's facts cost as many round trips as one event's.
        """
        if not events:
            return
        per_subject = Counter(event.envelope.subject for event in events)
        # Order matters per subject (the Kafka key), so the sequence is per subject:
        # writers of different dossiers never contend on one counter.
        counts = {f"outbox:{subject}": count for subject, count in per_subject.items()}
        last = await reserve_in_transaction(self._counters, counts, session)
        next_seq = {s: last[f"outbox:{s}"] - n + 1 for s, n in per_subject.items()}
        documents = []
        for event in events:
            envelope = event.envelope
            seq = next_seq[envelope.subject]
            next_seq[envelope.subject] = seq + 1
            documents.append(
                {
                    "_id": envelope.id,
                    "seq": seq,
                    "topic": REGISTRY[envelope.type].TOPIC.name,
                    "subject": envelope.subject,
                    "type": envelope.type,
                    "envelope": envelope.to_bytes().decode(),
                    # Keep the emitter's trace so the relay's publish joins it.
                    "trace_headers": [list(header) for header in event.trace_headers],
                    "status": PENDING,
                    "created_at": now,
                }
            )
        await self._entries.insert_many(documents, ordered=True, session=session)

    async def pending(self, limit: int) -> list[dict[str, object]]:
        """Unpublished entries of the subjects waiting longest, each from its oldest one.

        Order matters per subject only. The subjects come from the oldest pending
        entries; each subject's entries are then read from its lowest sequence number,
        so a batch never holds a subject's later event without the earlier ones, and
        no subject starves behind a full batch. When everything pending fits in one
        batch, one query reads it all.
        """
        by_subject = [("subject", ASCENDING), ("seq", ASCENDING)]
        if not self._backlog:
            # Usually everything pending fits in one batch: then one query reads it all.
            query = self._entries.find({"status": PENDING}).sort(by_subject).limit(limit)
            entries = await query.to_list()
            self._backlog = len(entries) >= limit
            if not self._backlog:
                return entries
        oldest = (
            self._entries.find({"status": PENDING}, {"subject": 1})
            .sort([("created_at", ASCENDING), ("_id", ASCENDING)])
            .limit(limit)
        )
        subjects = list(dict.fromkeys([str(entry["subject"]) async for entry in oldest]))
        if not subjects:
            self._backlog = False
            return []
        cursor = (
            self._entries.find({"status": PENDING, "subject": {"$in": subjects}})
            .sort(by_subject)
            .limit(limit)
        )
        entries = await cursor.to_list()
        self._backlog = len(entries) >= limit
        return entries

    @property
    def backlog(self) -> bool:
        """Whether the last read filled a batch (more may be pending)."""
        return self._backlog

    async def mark_sent(self, entry_ids: list[str], now: datetime) -> None:
        # Outside a transaction (see update_many_in_transaction): no transaction ever
        # writes an entry after inserting it, so this update meets no uncommitted write.
        await self._entries.update_many(
            {"_id": {"$in": entry_ids}, "status": PENDING},
            {"$set": {"status": SENT, "sent_at": now}},
        )

    async def quarantine(self, entry_id: str, reason: str, now: datetime) -> None:
        """Set aside an entry the broker refused; it stays here for operators to inspect."""
        await self._entries.update_one(
            {"_id": entry_id, "status": PENDING},
            {"$set": {"status": QUARANTINED, "quarantined_at": now, "reason": reason}},
        )

    async def count_pending(self) -> int:
        return await self._entries.count_documents({"status": PENDING})

    async def oldest_pending_at(self) -> datetime | None:
        """When the oldest unpublished entry was written (None when none waits)."""
        oldest = await self._entries.find_one(
            {"status": PENDING}, {"created_at": 1}, sort=[("created_at", ASCENDING)]
        )
        return None if oldest is None else oldest["created_at"]

    async def report_backlog(self, service: str, now: datetime) -> None:
        """Set the backlog gauges: pending entries and the age of the oldest one."""
        OUTBOX_PENDING.labels(service).set(await self.count_pending())
        oldest = await self.oldest_pending_at()
        age = 0.0 if oldest is None else max((now - oldest).total_seconds(), 0.0)
        OUTBOX_OLDEST_AGE.labels(service).set(age)

    async def entries_for(self, subject: str) -> list[dict[str, object]]:
        """Every entry of one subject, in order (for diagnostics and tests)."""
        return await self._entries.find({"subject": subject}).sort("seq", ASCENDING).to_list()


def _outgoing(entry: dict[str, object]) -> Outgoing:
    return (
        Envelope.model_validate_json(str(entry["envelope"])),
        TOPICS_BY_NAME[str(entry["topic"])],
        [(str(k), str(v).encode()) for k, v in entry["trace_headers"]],  # type: ignore[attr-defined]
    )


class Lease:
    """A time-bounded claim in MongoDB: only the holder acts until it lapses."""

    def __init__(self, db: Database, name: str, holder: str | None = None) -> None:
        self._leases = db["leases"]
        self._name = name
        self.holder = holder or str(uuid.uuid4())

    async def acquire(self, now: datetime, duration: timedelta) -> bool:
        """Take or renew the lease; False while another holder's lease is live."""
        try:
            await self._leases.find_one_and_update(
                {"_id": self._name, "$or": [{"holder": self.holder}, {"expires_at": {"$lt": now}}]},
                {"$set": {"holder": self.holder, "expires_at": now + duration}},
                upsert=True,
            )
        except DuplicateKeyError:
            return False  # the filter did not match and the upsert lost: someone else holds it
        return True

    async def release(self) -> None:
        await self._leases.delete_one({"_id": self._name, "holder": self.holder})


class OutboxRelay:
    """Publishes pending outbox entries in order, marking each sent after the broker acks."""

    def __init__(
        self,
        outbox: Outbox,
        lease: Lease,
        publisher: Publisher,
        settings: OutboxSettings,
        clock: Clock,
        service: str,
        dead_letters: DeadLetterWriter,
        topic_prefix: str = "",
    ) -> None:
        self._outbox = outbox
        self._dead_letters = dead_letters
        self._topic_prefix = topic_prefix
        self._lease = lease
        self._publisher = publisher
        self._settings = settings
        self._clock = clock
        self._service = service
        self._wake = asyncio.Event()
        self._stopping = False
        self._lease_duration = timedelta(seconds=settings.lease_s)
        self._held_until: datetime | None = None
        self._reported_at = -BACKLOG_REPORT_S

    @property
    def name(self) -> str:
        return "outbox-relay"

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    def wake(self) -> None:
        """Ask the relay to scan now (called after a transaction that added events)."""
        self._wake.set()

    async def publish_pending(self) -> int:
        """Publish one batch of pending entries in order; returns how many were sent."""
        entries = await self._outbox.pending(self._settings.batch_size)
        if not entries:
            return 0
        messages = [_outgoing(entry) for entry in entries]
        try:
            await self._publisher.publish_batch(messages)
        except Exception as exc:
            if not refused_by_broker(exc):
                raise  # an outage: the whole batch is sent again later
            return await self._publish_one_by_one(entries, messages)
        await self._outbox.mark_sent([str(entry["_id"]) for entry in entries], self._clock.now())
        return len(entries)

    async def _publish_one_by_one(
        self, entries: list[dict[str, object]], messages: list[Outgoing]
    ) -> int:
        """Find the refused entries of a batch: quarantine them, publish the others in order."""
        sent = 0
        for entry, message in zip(entries, messages, strict=True):
            try:
                await self._publisher.publish_batch([message])
            except Exception as exc:
                if not refused_by_broker(exc):
                    raise
                await self._quarantine(entry, exc)
                continue
            await self._outbox.mark_sent([str(entry["_id"])], self._clock.now())
            sent += 1
        return sent

    async def _quarantine(self, entry: dict[str, object], error: Exception) -> None:
        value = str(entry["envelope"]).encode()
        reason = f"{type(error).__name__}: {error}"
        # The dead letter is what operators watch; the entry itself stays in the outbox.
        await self._dead_letters.write_message(
            original_topic=topic_name(self._topic_prefix, TOPICS_BY_NAME[str(entry["topic"])]),
            key=str(entry["subject"]),
            value=value if len(value) <= DEAD_LETTER_VALUE_LIMIT else None,
            error=error,
            kind="outbox_refused",
            attempts=1,
            consumer_group=f"{self._topic_prefix}{self._service}-outbox",
            extra={
                "outbox_entry": str(entry["_id"]),
                "event_type": str(entry["type"]),
                "envelope_bytes": str(len(value)),
            },
        )
        await self._outbox.quarantine(str(entry["_id"]), reason, self._clock.now())
        OUTBOX_QUARANTINED.labels(self._service, str(entry["type"])).inc()
        log.error(
            "outbox entry refused by the broker; quarantined",
            extra={
                "outbox_entry": entry["_id"],
                "event_type": entry["type"],
                "subject": entry["subject"],
                "envelope_bytes": len(value),
                "reason": reason,
            },
        )

    async def _leading(self) -> bool:
        """Whether this relay holds the lease; renewed once half of it has run out.

        Leases are about real elapsed time, not the (possibly simulated) domain clock.
        Renewing only at half-time keeps the lease write off every scan.
        """
        now = SystemClock().now()
        if self._held_until is not None and now < self._held_until - self._lease_duration / 2:
            return True
        self._held_until = None
        if await self._lease.acquire(now, self._lease_duration):
            self._held_until = now + self._lease_duration
        return self._held_until is not None

    async def _report_backlog(self) -> None:
        """Refresh the backlog gauges: two queries, so at most once a second."""
        now = time.monotonic()
        if now - self._reported_at >= BACKLOG_REPORT_S:
            self._reported_at = now
            await self._outbox.report_backlog(self._service, self._clock.now())

    async def run(self) -> None:
        """Relay until stopped; failures are retried after a pause, nothing is dropped.

        After a batch that held everything pending, the relay waits for a wake-up (or
        the poll interval) instead of reading an empty outbox again: a wake-up that came
        while it published means new entries, and it reads at once.
        """
        while not self._stopping:
            try:
                self._wake.clear()  # from here on, a wake-up means entries written since
                more = False
                if await self._leading():
                    await self.publish_pending()
                    more = self._outbox.backlog
                    await self._report_backlog()
                if not more:
                    await self._wait(self._settings.poll_interval_s)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # broker or store outage: retry later, drop nothing
                log.warning("outbox relay failed, retrying", extra={"error": repr(exc)})
                self._wake.clear()
                await self._wait(self._settings.retry_delay_s)

    async def _wait(self, seconds: float) -> None:
        """Until woken (perhaps already) or ``seconds`` have passed."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
