"""The relay's copies to agency feeds, without servers: each entry goes to its topic and,
the same envelope, key and headers, to each audience unit's feed in the same batch; a copy
to a feed the broker lacks is held without holding anything up, and sent in order once the
feed exists; an entry's audience survives the store."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from prometheus_client import REGISTRY

from shared.kafka import feeds as feeds_module
from shared.kafka.publisher import Outgoing
from shared.mongo.outbox_entry import OutboxEntry, PendingEvent
from shared.topics import agency_events
from tests.unit.shared.test_relay_handover import AT, MemoryBroker, Relay
from tests.unit.shared.test_relay_handover import entry as handover_entry

TRACE = [("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")]


def entry(subject: str, seq: int, audience: tuple[str, ...]) -> OutboxEntry:
    return handover_entry(subject, seq, audience, TRACE)


class HeaderBroker(MemoryBroker):
    """Keeps each message's topic and headers, as the Kafka publisher is given them."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[list[tuple[str, str, list[tuple[str, bytes]]]]] = []

    async def publish_batch(self, messages: Sequence[Outgoing]) -> None:
        if not self.down:
            self.batches.append([(t.name, e.id, list(h)) for e, t, h in messages])
        await super().publish_batch(messages)


def relay_with(broker: MemoryBroker) -> Relay:
    r = Relay()
    r.broker = broker
    r.relay._publisher = broker
    r.relay._feeds._publisher = broker
    return r


def held() -> float:
    value = REGISTRY.get_sample_value("lt_outbox_feed_copies_held_total", {"service": "tests"})
    return value or 0.0


def waiting() -> float:
    value = REGISTRY.get_sample_value("lt_outbox_feed_copies_waiting", {"service": "tests"})
    return value or 0.0


async def test_an_entry_goes_to_its_topic_and_to_each_audience_feed_in_one_batch() -> None:
    r = relay_with(HeaderBroker())
    await r.relay.round()
    a, b = entry("A", 1, ("U1", "U2")), entry("B", 1, ())
    r.commit(a, b)
    await r.relay.round()
    broker = r.broker
    assert isinstance(broker, HeaderBroker)
    [batch] = broker.batches
    assert [(topic, event_id) for topic, event_id, _ in batch] == [
        ("dossier.events", a.id),
        (agency_events("U1").name, a.id),
        (agency_events("U2").name, a.id),
        ("dossier.events", b.id),
    ]
    assert {tuple(headers) for _, event_id, headers in batch if event_id == a.id} == {
        (("traceparent", TRACE[0][1].encode()),)
    }
    assert [envelope for _, envelope in broker.sent[:3]] == [a.envelope] * 3
    assert broker.asked == [{"dossier.events.U1", "dossier.events.U2"}]
    r.commit(entry("A", 2, ("U1",)))
    await r.relay.round()
    assert len(broker.asked) == 1  # a feed seen once is not asked about again


async def test_a_copy_to_a_missing_feed_is_held_and_sent_in_order_once_the_feed_exists(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    broker = MemoryBroker()
    broker.absent = {"dossier.events.GONE"}
    r = relay_with(broker)
    await r.relay.round()
    before = held()
    first = entry("A", 1, ("GONE", "U1"))
    r.commit(first)
    await r.relay.round()
    assert [topic for topic, _ in broker.sent] == ["dossier.events", "dossier.events.U1"]
    assert held() == before + 1 and waiting() == 1
    assert list(r.feed_backlog.held.values()) == [("GONE", first)]
    r.commit(entry("A", 2, ("GONE",)))
    await r.relay.round()  # within the recheck interval: not asked again, held too
    assert len(broker.asked) == 1 and held() == before + 2 and waiting() == 2

    monkeypatch.setattr(feeds_module, "ABSENT_RECHECK_S", 0.0)
    r.relay._feeds._drain_at = 0.0  # the held copies' next look, due now
    broker.absent = set()  # provisioned since
    r.commit(entry("A", 3, ("GONE",)))
    await r.relay.round()  # A3 waits behind A1 and A2, then all three go, in order
    assert broker.asked[-1] == {"dossier.events.GONE"}
    to_gone = [e.data["reason"] for t, e in broker.sent if t == "dossier.events.GONE"]
    assert to_gone == ["A1", "A2", "A3"]
    assert r.feed_backlog.held == {} and waiting() == 0
    r.commit(entry("A", 4, ("GONE",)))
    await r.relay.round()  # none waits: straight to the feed, with its record
    assert [t for t, _ in broker.sent][-2:] == ["dossier.events", "dossier.events.GONE"]
    assert held() == before + 3


async def test_held_copies_go_a_batch_a_round_and_a_new_tenure_reads_them_from_the_store(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(feeds_module, "ABSENT_RECHECK_S", 0.0)
    broker = MemoryBroker()
    r = relay_with(broker)
    await r.relay.round()
    waiting_ones = [entry("B", seq, ("LATE",)) for seq in range(1, 4)]
    await r.feed_backlog.hold([("LATE", e) for e in waiting_ones], AT)  # another tenure's
    r.relay._feeds.reset()  # as a new lease tenure does
    r.relay._feeds._drain_at = 0.0
    await r.relay._feeds.send_held(batch_size=2)
    await r.relay._feeds.send_held(batch_size=2)  # more were left: the next goes at once
    to_late = [e.data["reason"] for t, e in broker.sent if t == "dossier.events.LATE"]
    assert to_late == ["B1", "B2", "B3"] and r.feed_backlog.held == {}


async def test_after_a_failed_publish_the_feeds_are_asked_about_again() -> None:
    broker = MemoryBroker()
    r = relay_with(broker)
    await r.relay.round()
    r.commit(entry("A", 1, ("U1",)))
    await r.relay.round()
    broker.down = True
    r.commit(entry("A", 2, ("U1",)))
    await r.relay.round()
    broker.down = False
    await r.relay.round()  # from the store, asking about the feed again
    assert broker.asked == [{"dossier.events.U1"}] * 2
    assert [e.data["reason"] for t, e in broker.sent if t == "dossier.events.U1"] == ["A1", "A2"]


async def test_a_refused_entry_is_quarantined_with_its_copies_the_others_go_with_theirs() -> None:
    broker = MemoryBroker()
    broker.refused = "A2"
    r = relay_with(broker)
    await r.relay.round()
    r.commit(entry("A", 1, ("U1",)), entry("A", 2, ("U1",)), entry("A", 3, ("U1",)))
    await r.relay.round()
    assert [(t, e.data["reason"]) for t, e in broker.sent] == [
        ("dossier.events", "A1"),
        ("dossier.events.U1", "A1"),
        ("dossier.events", "A3"),
        ("dossier.events.U1", "A3"),
    ]


def test_the_audience_is_stored_with_the_entry_and_read_back() -> None:
    with_audience = entry("A", 1, ("U1", "U2"))
    document = with_audience.document(AT)
    assert document["audience"] == ["U1", "U2"]
    assert OutboxEntry.from_document(document).audience == ("U1", "U2")
    without = entry("A", 2, ()).document(AT)
    assert "audience" not in without  # entries written before feeds read back the same
    assert OutboxEntry.from_document(without).audience == ()


async def test_a_forwarded_event_goes_to_the_feeds_alone_not_to_its_topic_again() -> None:
    """Another service's event, copied by this one to feeds its emitter missed."""
    broker = MemoryBroker()
    r = relay_with(broker)
    await r.relay.round()
    forwarded = entry("A", 1, ("U1",))
    forwarded = OutboxEntry.of(
        PendingEvent(forwarded.envelope, TRACE, ("U1",), copies_only=True), 1
    )
    r.commit(forwarded, entry("A", 2, ("U1",)))
    await r.relay.round()
    assert [(t, e.data["reason"]) for t, e in broker.sent] == [
        ("dossier.events.U1", "A1"),
        ("dossier.events", "A2"),
        ("dossier.events.U1", "A2"),
    ]
    stored = OutboxEntry.from_document(forwarded.document(AT))
    assert stored.copies_only and stored.audience == ("U1",)
    assert "copies_only" not in entry("A", 3, ("U1",)).document(AT)
