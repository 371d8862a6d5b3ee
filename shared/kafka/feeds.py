"""Agency feeds: the copies of a published fact that go to its audience's feed topics.

A service names the units a fact concerns when it emits it (``UnitOfWork.emit``'s
``audience``); the outbox keeps them with the entry, and the relay publishes the record
to its topic and, the same envelope, key and headers, to each of those units' feed
``dossier.events.<unit>`` in the same batch, before it marks the entry sent. An agency
system reads its own feed only (Kafka ACL).

A feed the broker does not have (a unit added to the catalogue before the topics were
provisioned) must not hold the relay up: a send to a missing topic waits for metadata
until the request times out, and fails again at every retry. So the relay asks the
broker which feeds it has (one metadata request, for names it has not seen yet, and at
most every ``ABSENT_RECHECK_S`` for one it found missing): a copy to a missing feed is
left out, counted in ``lt_outbox_feed_copies_skipped_total`` (alert
``AgencyFeedCopiesSkipped``) and logged at WARNING with the unit; the fact itself is
published as ever. Provisioning the topic (``python -m infra.kafka_access``, or the
services' ``ensure_agency_topics``) ends it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from shared.kafka.publisher import Outgoing, Publisher
from shared.mongo.outbox import OutboxEntry
from shared.telemetry.metrics import FEED_COPIES_SKIPPED
from shared.topics import agency_events, topic_name

log = logging.getLogger(__name__)
ABSENT_RECHECK_S = 30.0


class Feeds:
    """The messages of outbox entries with their feed copies, the missing feeds left out."""

    def __init__(self, publisher: Publisher, prefix: str, service: str) -> None:
        self._publisher = publisher
        self._prefix = prefix
        self._service = service
        self._present: set[str] = set()  # units whose feed the broker has
        self._absent: dict[str, float] = {}  # units whose feed it lacked, and when seen
        self._skipped = FEED_COPIES_SKIPPED.labels(service)  # exported at 0 (an alert's)

    def forget(self) -> None:
        """A publish failed: a feed seen may have gone since; ask again before the next."""
        self._present.clear()

    async def messages(self, entries: Sequence[OutboxEntry]) -> list[list[Outgoing]]:
        """Each entry's messages: the record on its topic (unless it is there already:
        ``copies_only``), then a copy per audience unit whose feed exists, in the order
        the service named them."""
        wanted = {unit for entry in entries for unit in entry.audience}
        if not wanted:
            return [[entry.outgoing()] for entry in entries]
        present = await self._feeds_present(wanted)
        messages = []
        skipped = 0
        for entry in entries:
            units = [unit for unit in entry.audience if unit in present]
            skipped += len(entry.audience) - len(units)
            record = [] if entry.copies_only else [entry.outgoing()]
            messages.append([*record, *entry.feed_copies(units)])
        if skipped:
            self._skipped.inc(skipped)
        return messages

    async def _feeds_present(self, units: set[str]) -> set[str]:
        now = time.monotonic()
        unknown = {
            unit
            for unit in units - self._present
            if now - self._absent.get(unit, float("-inf")) >= ABSENT_RECHECK_S
        }
        if unknown:
            names = {unit: topic_name(self._prefix, agency_events(unit)) for unit in unknown}
            absent = await self._publisher.topics_absent(set(names.values()))
            missing = sorted(unit for unit, name in names.items() if name in absent)
            self._absent.update(dict.fromkeys(missing, now))
            for unit in unknown.difference(missing):
                self._present.add(unit)
                self._absent.pop(unit, None)
            if missing:
                log.warning(
                    "agency feeds missing on the broker: their copies are left out",
                    extra={"units": missing, "service": self._service},
                )
        return units & self._present
