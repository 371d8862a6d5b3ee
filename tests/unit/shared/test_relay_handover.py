"""The relay's hand-over rules without servers: what goes out from memory, what waits for
a store read, and when published entries are marked sent.

``SubjectOrder`` and ``SentMarks`` are pure; the relay itself runs here against an
in-memory outbox and broker that record every read, mark and publish, stepped one
round at a time (``OutboxRelay.round``).
"""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import cast

import pytest
from aiokafka.errors import KafkaConnectionError, MessageSizeTooLargeError
from prometheus_client import REGISTRY

from shared.clock import ManualClock
from shared.events.dossier import DossierState
from shared.events.registry import make_envelope
from shared.events.withdrawal import DossierWithdrawn
from shared.kafka.deadletter import DeadLetterWriter
from shared.kafka.publisher import Outgoing
from shared.mongo import relay_gauges
from shared.mongo.handover import SentMarks, SubjectOrder
from shared.mongo.lease import Lease
from shared.mongo.outbox import Outbox
from shared.mongo.outbox_entry import OutboxEntry, PendingEvent
from shared.mongo.relay import OutboxRelay, Round
from shared.settings import KafkaSettings, OutboxSettings
from shared.testing import MemoryFeedBacklog, RecordingPublisher, eventually

AT = datetime(2026, 11, 26, 9, tzinfo=UTC)


def entry(
    subject: str,
    seq: int,
    audience: tuple[str, ...] = (),
    trace: list[tuple[str, str]] | None = None,
) -> OutboxEntry:
    """An entry whose fact's reason is its subject and number ("A1"), for its audience."""
    fact = DossierWithdrawn(
        dossier_code=subject,
        state=DossierState.WITHDRAWN,
        holding_unit="U",
        withdrawn_at=AT,
        reason=f"{subject}{seq}",
    )
    event = PendingEvent(make_envelope(fact, source="/tests"), trace or [], audience)
    return OutboxEntry.of(event, seq)


def names(entries: Sequence[OutboxEntry]) -> list[str]:
    return [f"{e.subject}{e.seq}" for e in entries]


# --- SubjectOrder: the ordering and gap rules ---------------------------------------


def test_a_subjects_first_entry_and_each_next_one_go_out_from_memory() -> None:
    order = SubjectOrder()
    accepted = order.accept([entry("A", 1), entry("B", 1), entry("A", 2)])
    assert names(accepted.ready) == ["A1", "A2", "B1"] and not accepted.needs_read
    order.published(accepted.ready)
    assert order.last_published("A") == 2
    assert names(order.accept([entry("A", 3)]).ready) == ["A3"]


def test_a_gap_or_an_unknown_subject_is_left_to_the_store() -> None:
    order = SubjectOrder()
    order.published([entry("A", 1)])
    accepted = order.accept([entry("A", 3), entry("A", 4), entry("C", 5), entry("B", 1)])
    # A2 is not known to be out: neither A3 nor the A4 after it may go; C is unknown.
    assert names(accepted.ready) == ["B1"] and accepted.needs_read


def test_entries_a_store_read_published_first_are_dropped() -> None:
    order = SubjectOrder()
    order.published([entry("A", 1), entry("A", 2)])  # a store read got to them first
    accepted = order.accept([entry("A", 2), entry("A", 3)])
    assert names(accepted.ready) == ["A3"] and accepted.dropped == 1
    assert not accepted.needs_read


def test_hand_overs_in_any_order_go_out_in_sequence_order() -> None:
    """Units of work committed together may hand their entries over in any order."""
    accepted = SubjectOrder().accept([entry("A", 3), entry("A", 1), entry("A", 2)])
    assert names(accepted.ready) == ["A1", "A2", "A3"]


def test_a_forgotten_subject_is_read_from_the_store() -> None:
    order = SubjectOrder(capacity=2)
    order.published([entry("A", 4), entry("B", 1), entry("C", 1)])  # A forgotten first
    assert order.last_published("A") is None and len(order) == 2
    accepted = order.accept([entry("A", 5), entry("C", 2)])
    assert names(accepted.ready) == ["C2"] and accepted.needs_read


def test_the_last_published_never_goes_back() -> None:
    order = SubjectOrder()
    order.published([entry("A", 5)])
    order.published([entry("A", 3)])
    assert order.last_published("A") == 5


# --- SentMarks: marks written in batches ----------------------------------------------


def test_marks_fall_due_after_the_linger_or_at_once_when_a_batch_is_full() -> None:
    marks = SentMarks(size=3, linger_s=0.2)
    assert marks.due_at() is None and not marks.due(100.0)
    marks.add(["a"], now=10.0)
    marks.add(["b"], now=10.1)  # the first id's time counts
    assert marks.due_at() == pytest.approx(10.2)
    assert not marks.due(10.15) and marks.due(10.2)
    marks.add(["c"], now=10.12)
    assert marks.due(10.12)  # full
    marks.clear()
    assert marks.ids == [] and marks.due_at() is None


# --- the relay against an in-memory outbox and broker --------------------------------


class MemoryOutbox:
    """The outbox's relay-facing calls over a dict, counting reads and marks."""

    def __init__(self) -> None:
        self.entries: dict[str, tuple[OutboxEntry, str]] = {}
        self.reads = 0
        self.mark_writes: list[list[str]] = []
        self.backlog_queries = 0
        self.backlog = False

    def commit(self, *entries: OutboxEntry) -> list[OutboxEntry]:
        for e in entries:
            self.entries[e.id] = (e, "pending")
        return list(entries)

    def status(self, e: OutboxEntry) -> str:
        return self.entries[e.id][1]

    async def pending(self, limit: int) -> list[OutboxEntry]:
        self.reads += 1
        waiting = [e for e, status in self.entries.values() if status == "pending"]
        waiting.sort(key=lambda e: (e.subject, e.seq))
        self.backlog = len(waiting) > limit
        return waiting[:limit]

    async def mark_sent(self, ids: list[str], now: datetime) -> None:
        self.mark_writes.append(list(ids))
        for entry_id in ids:
            e, status = self.entries[entry_id]
            if status == "pending":
                self.entries[entry_id] = (e, "sent")

    async def quarantine(self, entry_id: str, reason: str, now: datetime) -> None:
        self.entries[entry_id] = (self.entries[entry_id][0], "quarantined")

    async def report_backlog(self, service: str, now: datetime) -> None:
        self.backlog_queries += 1


class MemoryBroker(RecordingPublisher):
    """Records what was published; can be down, or refuse one subject's records."""

    down = False
    refused: str | None = None  # the reason of the one event it refuses
    attempts = 0

    async def publish_batch(self, messages: Sequence[Outgoing]) -> None:
        self.attempts += 1
        if self.down:
            raise KafkaConnectionError("broker away")
        for envelope, _, _ in messages:
            if envelope.data["reason"] == self.refused:
                raise MessageSizeTooLargeError("too large")
        await super().publish_batch(messages)

    @property
    def published(self) -> list[str]:
        return [str(envelope.data["reason"]) for _, envelope in self.sent]


class MemoryLease:
    held = True

    async def acquire(self, now: datetime, duration: timedelta) -> bool:
        return self.held


class Relay:
    """A relay over the in-memory outbox, broker and lease; no periodic reads."""

    def __init__(
        self, batch_size: int = 200, retry_delay_s: float = 1.0, lease_s: float = 10.0
    ) -> None:
        self.outbox = MemoryOutbox()
        self.broker = MemoryBroker()
        self.lease = MemoryLease()
        self.feed_backlog = MemoryFeedBacklog()
        settings = OutboxSettings(
            poll_interval_s=3600,
            mark_sent_linger_s=3600,
            batch_size=batch_size,
            retry_delay_s=retry_delay_s,
            lease_s=lease_s,
        )
        clock = ManualClock(AT)
        self.relay = OutboxRelay(
            cast(Outbox, self.outbox),
            cast(Lease, self.lease),
            self.broker,
            settings,
            clock,
            "tests",
            DeadLetterWriter(self.broker, KafkaSettings(), clock, "tests"),
            self.feed_backlog,
        )

    def commit(self, *entries: OutboxEntry) -> None:
        """What a unit of work does: write, commit, hand over."""
        self.relay.hand_over(self.outbox.commit(*entries))


async def test_after_a_first_store_read_committed_entries_go_out_without_reads() -> None:
    r = Relay()
    await r.relay.round()  # a (re)start reads the store first
    assert r.outbox.reads == 1
    r.commit(entry("A", 1))
    r.commit(entry("A", 2), entry("B", 1))
    await r.relay.round()
    r.commit(entry("A", 3))
    await r.relay.round()
    assert r.broker.published == ["A1", "A2", "B1", "A3"]
    assert r.outbox.reads == 1 and r.outbox.mark_writes == []  # the marks linger


async def test_a_gap_is_published_through_the_store_in_order() -> None:
    r = Relay()
    await r.relay.round()
    r.outbox.commit(entry("A", 1))  # written by another process: never handed over here
    r.commit(entry("A", 2))
    await r.relay.round()
    assert r.broker.published == ["A1", "A2"]  # A2 waited for the read that found A1
    assert r.outbox.reads == 2
    r.commit(entry("A", 3))
    await r.relay.round()
    assert r.broker.published == ["A1", "A2", "A3"] and r.outbox.reads == 2


async def test_an_entry_a_store_read_published_is_not_published_again() -> None:
    r = Relay()
    await r.relay.round()
    first = entry("A", 1)
    r.outbox.commit(first)  # committed, its hand-over not arrived yet
    await r.relay.publish_pending()  # a store read gets it first
    r.relay.hand_over([first])  # the hand-over arrives late
    r.commit(entry("A", 2))
    await r.relay.round()
    assert r.broker.published == ["A1", "A2"]


async def test_marks_are_written_in_one_update_before_a_store_read_and_on_stop() -> None:
    r = Relay()
    await r.relay.round()
    written = [entry("A", seq) for seq in (1, 2, 3)]
    for e in written:
        r.commit(e)
        await r.relay.round()
    assert r.outbox.mark_writes == []
    await r.relay.publish_pending()  # a store read: the marks owed go first, in one write
    assert r.outbox.mark_writes == [[e.id for e in written]]
    assert r.outbox.reads == 2 and r.broker.published == ["A1", "A2", "A3"]
    last = entry("B", 1)
    r.commit(last)
    await r.relay.round()
    r.relay.stop()
    await r.relay.run()  # returns at once, writing what it owes
    assert r.outbox.mark_writes[-1] == [last.id]
    assert {status for _, status in r.outbox.entries.values()} == {"sent"}


async def test_a_full_batch_of_marks_is_written_at_once() -> None:
    r = Relay(batch_size=2)
    await r.relay.round()
    both = [entry("A", 1), entry("A", 2)]
    r.commit(*both)
    await r.relay.round()
    assert r.outbox.mark_writes == [[e.id for e in both]]


async def test_a_relay_without_the_lease_publishes_nothing_and_starts_again_from_the_store() -> (
    None
):
    r = Relay()
    r.lease.held = False
    r.commit(entry("A", 1))
    assert await r.relay.round() is Round.FOLLOWING
    assert r.broker.published == [] and r.outbox.reads == 0
    r.lease.held = True  # a new tenure: what another holder did is unknown
    r.commit(entry("A", 2))
    await r.relay.round()
    assert r.outbox.reads == 1 and r.broker.published == ["A1", "A2"]


async def test_after_a_broker_outage_everything_is_published_from_the_store_in_order() -> None:
    r = Relay(retry_delay_s=0.01)
    task = asyncio.create_task(r.relay.run())
    try:
        await eventually(lambda: _true(r.outbox.reads >= 1))
        r.broker.down = True
        r.commit(entry("A", 1), entry("A", 2))
        await eventually(lambda: _true(r.broker.attempts >= 2))  # failed, and retried
        assert {status for _, status in r.outbox.entries.values()} == {"pending"}
        r.broker.down = False
        r.commit(entry("A", 3))
        await eventually(lambda: _true(len(r.broker.published) == 3))
        assert r.broker.published == ["A1", "A2", "A3"]
    finally:
        r.relay.stop()
        await task
    assert {status for _, status in r.outbox.entries.values()} == {"sent"}


async def _true(value: bool) -> bool:
    return value


async def test_a_refused_entry_is_quarantined_and_its_subject_goes_on_from_memory() -> None:
    r = Relay()
    await r.relay.round()
    r.commit(entry("A", 1))
    await r.relay.round()
    big = entry("A", 2)
    r.broker.refused = "A2"
    r.commit(big, entry("B", 1))
    await r.relay.round()
    assert r.outbox.status(big) == "quarantined"
    r.commit(entry("A", 3))
    await r.relay.round()
    assert r.broker.published == ["A1", "B1", "A3"] and r.outbox.reads == 1


async def test_an_overflowing_hand_over_queue_falls_back_to_the_store() -> None:
    r = Relay(batch_size=2)  # the queue holds 10 batches: 20 entries
    await r.relay.round()
    r.commit(*[entry("A", seq) for seq in range(1, 16)])
    r.commit(*[entry("A", seq) for seq in range(16, 26)])  # 25 > 20: left to the store
    for _ in range(20):  # bounded: each round makes progress
        await r.relay.round()
    assert r.outbox.reads > 1
    assert r.broker.published == [f"A{seq}" for seq in range(1, 26)]


async def test_a_caught_up_relay_reports_its_backlog_without_queries_an_outage_with_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(relay_gauges, "BACKLOG_REPORT_S", 0.0)  # every round
    r = Relay()
    await r.relay.round()  # the start's read saw everything and published it
    r.commit(entry("A", 1))
    await r.relay.round()
    assert r.outbox.backlog_queries == 0
    assert REGISTRY.get_sample_value("lt_outbox_pending", {"service": "tests"}) == 0.0
    r.broker.down = True
    r.commit(entry("A", 2))
    assert await r.relay.round() is Round.FAILED
    assert r.outbox.backlog_queries == 1  # counted in the store while the broker is away
    r.broker.down = False
    await r.relay.round()  # the read after the failure catches up
    await r.relay.round()
    assert r.outbox.backlog_queries == 1 and r.broker.published == ["A1", "A2"]


class Writers:
    """Units of work committing entries for a few subjects, numbering them as the outbox does."""

    def __init__(self, relay: Relay, rng: random.Random) -> None:
        self.r, self.rng = relay, rng
        self.last: dict[str, int] = defaultdict(int)
        self.late: list[list[OutboxEntry]] = []  # committed, their hand-over not arrived yet

    def new(self, count: int) -> list[OutboxEntry]:
        written = []
        for _ in range(count):
            subject = self.rng.choice("ABCD")
            self.last[subject] += 1
            written.append(entry(subject, self.last[subject]))
        return self.r.outbox.commit(*written)

    def commit(self) -> None:
        """Own writes, handed over at once (a group commit's in any order) or late."""
        written = self.new(self.rng.randint(1, 3))
        if self.rng.random() < 0.2:
            self.late.append(written)
        else:
            self.rng.shuffle(written)
            self.r.relay.hand_over(written)

    def deliver_late(self) -> None:
        if self.late:
            self.r.relay.hand_over(self.late.pop(self.rng.randrange(len(self.late))))


@pytest.mark.parametrize("seed", range(25))
async def test_any_interleaving_publishes_every_entry_once_in_subject_order(seed: int) -> None:
    """Commits, late hand-overs, another writer's entries, broker outages, store reads and
    rounds in random order: each subject's entries go out exactly once, in sequence."""
    rng = random.Random(seed)
    r = Relay(batch_size=3)  # small: partial takes, full batches, backlog reads
    writers = Writers(r, rng)
    for _ in range(300):
        action = rng.random()
        if action < 0.35:
            writers.commit()
        elif action < 0.42:
            writers.new(1)  # another process wrote it: never handed over here
        elif action < 0.5:
            writers.deliver_late()
        elif action < 0.56:
            r.broker.down = not r.broker.down
        elif action < 0.95:
            await r.relay.round()
        else:
            r.relay.hand_over([])  # a wake-up, then a round after a failed one
            await r.relay.round()
    r.broker.down = False
    while writers.late:
        writers.deliver_late()
    for _ in range(200):  # bounded: every round makes progress
        if not any(status == "pending" for _, status in r.outbox.entries.values()):
            break
        await r.relay.round()
        await r.relay.publish_pending()  # the periodic read (a long interval here)
    await r.relay.flush_marks()
    published: dict[str, list[int]] = defaultdict(list)
    for _, envelope in r.broker.sent:
        subject, seq = envelope.subject, int(str(envelope.data["reason"])[1:])
        published[subject].append(seq)
    assert {s: seqs for s, seqs in published.items()} == {
        s: list(range(1, n + 1)) for s, n in writers.last.items()
    }
    assert {status for _, status in r.outbox.entries.values()} <= {"sent"}


def relay_gauge(name: str) -> float | None:
    return REGISTRY.get_sample_value(name, {"service": "tests"})


async def test_the_relay_beats_on_good_rounds_only_and_a_former_holder_stops_reporting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A stopped or failing relay shows as an old heartbeat (OutboxRelayStalled); an
    instance that lost the lease leaves no frozen backlog beside the holder's."""
    monkeypatch.setattr(relay_gauges, "BACKLOG_REPORT_S", 0.0)
    r = Relay(lease_s=1e-6)  # the lease is taken again at every round
    started = relay_gauge("lt_outbox_relay_last_success_timestamp_seconds")
    assert started is not None and relay_gauge("lt_outbox_relay_leading") == 0
    assert await r.relay.round() is Round.LEADING
    beat = relay_gauge("lt_outbox_relay_last_success_timestamp_seconds")
    assert beat is not None and beat >= started
    assert relay_gauge("lt_outbox_relay_leading") == 1
    assert relay_gauge("lt_outbox_oldest_age_seconds") == 0.0
    r.broker.down = True
    r.commit(entry("A", 1))
    assert await r.relay.round() is Round.FAILED
    assert relay_gauge("lt_outbox_relay_last_success_timestamp_seconds") == beat
    r.broker.down = False
    r.lease.held = False  # another instance took it
    assert await r.relay.round() is Round.FOLLOWING
    assert relay_gauge("lt_outbox_relay_leading") == 0
    assert relay_gauge("lt_outbox_oldest_age_seconds") is None
    assert relay_gauge("lt_outbox_pending") is None
