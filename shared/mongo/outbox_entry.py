"""An outbox entry: one queued event as the outbox holds it and the relay publishes it
(``shared.mongo.outbox``), with the bound on its size."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.envelope import Envelope
from shared.events.registry import REGISTRY
from shared.kafka.publisher import Outgoing
from shared.refusals import Refused
from shared.topics import ALL_TOPICS, TopicSpec, agency_events

TOPICS_BY_NAME = {spec.name: spec for spec in ALL_TOPICS}
PENDING = "pending"
# The largest envelope queued: under the broker's default message size (1 MiB) with
# room for headers and the record batch; a larger one could never be published.
MAX_EVENT_BYTES = 900_000


class EventTooLarge(Refused):
    """A fact too large to publish: the transaction that emits it must not commit."""

    def __init__(self, event_type: str, size: int) -> None:
        super().__init__(
            "event_too_large",
            f"the {event_type} this would emit takes {size} bytes; at most {MAX_EVENT_BYTES}",
        )


def check_size(event_type: str, envelope: str) -> None:
    """Refuse an envelope (as stored) over ``MAX_EVENT_BYTES`` of UTF-8."""
    if len(envelope) * 4 > MAX_EVENT_BYTES and (size := len(envelope.encode())) > MAX_EVENT_BYTES:
        raise EventTooLarge(event_type, size)  # UTF-8 takes at most 4 bytes a character


@dataclass(frozen=True)
class PendingEvent:
    """An event to queue, with the trace context of the work that emitted it."""

    envelope: Envelope
    trace_headers: list[tuple[str, str]]
    audience: tuple[str, ...] = ()  # units whose agency feed gets a copy
    copies_only: bool = False  # another service's event: to the feeds, not its topic again


@dataclass(frozen=True)
class OutboxEntry:
    """One queued event as the outbox holds it: what the relay publishes."""

    id: str
    seq: int  # its place in its subject's sequence, from 1
    subject: str
    topic: str
    type: str
    envelope: Envelope
    trace_headers: tuple[tuple[str, str], ...]
    # The units whose agency feed (``dossier.events.<unit>``) the relay copies it to.
    audience: tuple[str, ...] = ()
    # Published to the audience's feeds only (``UnitOfWork.forward``), not to its topic.
    copies_only: bool = False

    @classmethod
    def of(cls, event: PendingEvent, seq: int) -> OutboxEntry:
        envelope = event.envelope
        return cls(
            id=envelope.id,
            seq=seq,
            subject=envelope.subject,
            topic=REGISTRY[envelope.type].TOPIC.name,
            type=envelope.type,
            envelope=envelope,
            trace_headers=tuple(event.trace_headers),
            audience=event.audience,
            copies_only=event.copies_only,
        )

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> OutboxEntry:
        """An entry as read back from the store."""
        return cls(
            id=str(document["_id"]),
            seq=int(document["seq"]),
            subject=str(document["subject"]),
            topic=str(document["topic"]),
            type=str(document["type"]),
            envelope=Envelope.model_validate_json(str(document["envelope"])),
            trace_headers=tuple((str(k), str(v)) for k, v in document["trace_headers"]),
            audience=tuple(str(unit) for unit in document.get("audience", ())),
            copies_only=bool(document.get("copies_only", False)),
        )

    def document(self, now: datetime) -> dict[str, object]:
        """The entry as stored, pending (``audience`` only when it has one)."""
        document: dict[str, object] = {
            "_id": self.id,
            "seq": self.seq,
            "topic": self.topic,
            "subject": self.subject,
            "type": self.type,
            "envelope": self.envelope.to_bytes().decode(),
            # Keep the emitter's trace so the relay's publish joins it.
            "trace_headers": [list(header) for header in self.trace_headers],
            "status": PENDING,
            "created_at": now,
        }
        if self.audience:
            document["audience"] = list(self.audience)
        if self.copies_only:
            document["copies_only"] = True
        return document

    @property
    def topic_spec(self) -> TopicSpec:
        return TOPICS_BY_NAME[self.topic]

    def outgoing(self) -> Outgoing:
        """The message the relay sends: the envelope, its topic, the writer's trace."""
        headers = [(k, v.encode()) for k, v in self.trace_headers]
        return (self.envelope, self.topic_spec, headers)

    def feed_copies(self, units: Iterable[str]) -> list[Outgoing]:
        """The same message for each of these units' agency feeds (same envelope, key and
        headers)."""
        headers = [(k, v.encode()) for k, v in self.trace_headers]
        return [(self.envelope, agency_events(unit), headers) for unit in units]
