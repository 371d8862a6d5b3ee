"""The transactional outbox: events queued in the transaction of the change they describe.

A state change and the events it implies are written in one transaction
(``Outbox.add_all`` with the caller's session), each entry numbered in its subject's
sequence (``seq``), which fixes the order its subject's events are published in. The
numbers come from ``counters`` unless the service keeps them elsewhere
(``SubjectSequences``), or the writer reserved them already with its own document's
write (``reserved``: routing numbers a dossier's facts with the dossier's save).

The relay (``shared.mongo.relay``) publishes them: what a unit of work committed is
handed to it in memory (the entries ``add_all`` returns), anything else it reads back
from here (``pending``). An entry the broker refuses for itself is quarantined (status
``quarantined`` with the reason, kept here for operators).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime

from pymongo import ASCENDING

from shared.envelope import Envelope
from shared.mongo.client import Database, Session
from shared.mongo.outbox_entry import PENDING, OutboxEntry, PendingEvent, check_size
from shared.mongo.outbox_sequences import CounterSequences, SubjectSequences, numbers
from shared.telemetry.messaging import inject_trace_headers
from shared.telemetry.metrics import OUTBOX_OLDEST_AGE, OUTBOX_PENDING

SENT = "sent"
QUARANTINED = "quarantined"
SENT_RETENTION_S = 7 * 24 * 3600


class Outbox:
    """Outgoing events of one service database."""

    def __init__(self, db: Database, sequences: SubjectSequences | None = None) -> None:
        self._entries = db["outbox"]
        self._sequences = sequences or CounterSequences(db["counters"])
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

    async def add(self, envelope: Envelope, session: Session, now: datetime) -> OutboxEntry:
        """Queue an event in the caller's transaction; its topic comes from its contract."""
        headers = [(k, v.decode()) for k, v in inject_trace_headers([])]
        [entry] = await self.add_all([PendingEvent(envelope, headers)], session, now)
        return entry

    async def add_all(
        self,
        events: list[PendingEvent],
        session: Session,
        now: datetime,
        reserved: Mapping[str, Sequence[int]] | None = None,
    ) -> list[OutboxEntry]:
        """Queue events, in order, in the caller's transaction (a unit of work's facts).

        ``reserved`` holds numbers the writer reserved in this transaction, per subject
        in emitting order; a subject whose events they number exactly costs nothing more.
        The others cost one counter write per subject (one read and one bulk write for
        many subjects, ``SubjectSequences``); a reservation that does not fit is left
        unused (a gap the relay reads past). Then one insert for all: a batch's facts
        cost as many round trips as one event's. Returns the entries written, for the
        relay once the transaction has committed.
        """
        if not events:
            return []
        per_subject = Counter(event.envelope.subject for event in events)
        numbered = {
            subject: list(reserved[subject])
            for subject, count in per_subject.items()
            if reserved and len(reserved.get(subject, ())) == count
        }
        wanted = {s: n for s, n in per_subject.items() if s not in numbered}
        if wanted:
            last = await self._sequences.reserve(wanted, session)
            numbered |= {s: list(numbers(last[s], n)) for s, n in wanted.items()}
        taken = Counter[str]()
        entries = []
        for event in events:
            subject = event.envelope.subject
            entries.append(OutboxEntry.of(event, numbered[subject][taken[subject]]))
            taken[subject] += 1
        documents = [entry.document(now) for entry in entries]
        for entry, document in zip(entries, documents, strict=True):
            check_size(entry.type, str(document["envelope"]))
        await self._entries.insert_many(documents, ordered=True, session=session)
        return entries

    async def pending(self, limit: int) -> list[OutboxEntry]:
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
                return [OutboxEntry.from_document(entry) for entry in entries]
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
        return [OutboxEntry.from_document(entry) for entry in entries]

    @property
    def backlog(self) -> bool:
        """Whether the last read filled a batch (more may be pending)."""
        return self._backlog

    async def mark_sent(self, entry_ids: list[str], now: datetime) -> None:
        """Mark published entries sent, all in one write."""
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
        """Entries not yet marked sent (published ones count until their mark is written).

        The ``count`` command, not ``count_documents``: the latter is an aggregation,
        which costs the Rust store eight times as much CPU for a handful of entries.
        Outside any transaction (the command is not allowed in one).
        """
        reply = await self._entries.database.command(
            "count", self._entries.name, query={"status": PENDING}
        )
        return int(reply["n"])

    async def oldest_pending_at(self) -> datetime | None:
        """When the oldest unpublished entry was written (None when none waits).

        Sorted as the ``status, created_at, _id`` index is: with ``_id`` to break ties
        (entries of one transaction share a millisecond), the store need not work out
        which of equal entries mongod's plan would return first, four times the CPU.
        """
        oldest = await self._entries.find_one(
            {"status": PENDING},
            {"created_at": 1},
            sort=[("created_at", ASCENDING), ("_id", ASCENDING)],
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
