"""Outbox entries the broker refuses for themselves (a record over its size limit, say):
they can never be published, so the relay quarantines each and goes on. The entry stays
in the outbox with the reason; a dead letter reports it (with the envelope if the broker
can take it) where operators watch; it is counted and logged."""

from __future__ import annotations

import logging

from shared.clock import Clock
from shared.kafka.deadletter import DeadLetterWriter
from shared.mongo.outbox import Outbox
from shared.mongo.outbox_entry import OutboxEntry
from shared.telemetry.metrics import OUTBOX_QUARANTINED
from shared.topics import topic_name

log = logging.getLogger(__name__)
# A dead letter carries the refused envelope only if the broker can take it.
DEAD_LETTER_VALUE_LIMIT = 512 * 1024


class Quarantine:
    """Quarantines one service's refused outbox entries."""

    def __init__(
        self,
        outbox: Outbox,
        dead_letters: DeadLetterWriter,
        clock: Clock,
        service: str,
        topic_prefix: str,
    ) -> None:
        self._outbox = outbox
        self._dead_letters = dead_letters
        self._clock = clock
        self._service = service
        self._prefix = topic_prefix

    async def __call__(self, entry: OutboxEntry, error: Exception) -> None:
        value = entry.envelope.to_bytes()
        reason = f"{type(error).__name__}: {error}"
        # The dead letter is what operators watch; the entry itself stays in the outbox.
        await self._dead_letters.write_message(
            original_topic=topic_name(self._prefix, entry.topic_spec),
            key=entry.subject,
            value=value if len(value) <= DEAD_LETTER_VALUE_LIMIT else None,
            error=error,
            kind="outbox_refused",
            attempts=1,
            consumer_group=f"{self._prefix}{self._service}-outbox",
            extra={
                "outbox_entry": entry.id,
                "event_type": entry.type,
                "envelope_bytes": str(len(value)),
            },
        )
        await self._outbox.quarantine(entry.id, reason, self._clock.now())
        OUTBOX_QUARANTINED.labels(self._service, entry.type).inc()
        log.error(
            "outbox entry refused by the broker; quarantined",
            extra={
                "outbox_entry": entry.id,
                "event_type": entry.type,
                "subject": entry.subject,
                "envelope_bytes": len(value),
                "reason": reason,
            },
        )
