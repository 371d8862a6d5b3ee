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
most every ``ABSENT_RECHECK_S`` for one it found missing). A copy to a missing feed is
held in the store (``shared.mongo.feed_backlog``), before the batch goes out, and so is
every later copy to that unit's feed while any wait, so that each dossier's copies reach
the feed in order; the fact itself is published as ever. Held copies are counted in
``lt_outbox_feed_copies_held_total``, those waiting in ``lt_outbox_feed_copies_waiting``
(alert ``AgencyFeedCopiesWaiting``), and the units logged at WARNING. Once the feed
exists (``python -m infra.kafka_access``, or the services' ``ensure_agency_topics``),
the relay sends its held copies, oldest first, a batch per round, and the unit's copies
go straight to its feed again when none is left.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from shared.clock import SystemClock
from shared.kafka.publisher import Outgoing, Publisher, refused_by_broker
from shared.mongo.outbox_entry import OutboxEntry
from shared.telemetry.metrics import FEED_COPIES_HELD, FEED_COPIES_WAITING
from shared.topics import agency_events, topic_name

log = logging.getLogger(__name__)
ABSENT_RECHECK_S = 30.0


class HeldCopies(Protocol):
    """Where the relay keeps copies for feeds that do not exist yet
    (``shared.mongo.feed_backlog.FeedBacklog``)."""

    async def units(self) -> set[str]: ...

    async def hold(self, copies: Sequence[tuple[str, OutboxEntry]], now: datetime) -> None: ...

    async def oldest(self, unit: str, limit: int) -> list[tuple[str, OutboxEntry]]: ...

    async def release(self, ids: Sequence[str]) -> None: ...

    async def count(self) -> int: ...


class Feeds:
    """The messages of outbox entries with their feed copies; copies to a missing feed
    held until it exists."""

    def __init__(
        self, publisher: Publisher, prefix: str, service: str, backlog: HeldCopies
    ) -> None:
        self._publisher = publisher
        self._prefix = prefix
        self._service = service
        self._backlog = backlog
        self._present: set[str] = set()  # units whose feed the broker has
        self._absent: dict[str, float] = {}  # units whose feed it lacked, and when seen
        self._waiting: set[str] | None = None  # units with held copies; None: read them
        self._drain_at = 0.0  # monotonic time of the next look at the held copies
        self._held = FEED_COPIES_HELD.labels(service)  # exported at 0 (an alert's)
        self._waiting_gauge = FEED_COPIES_WAITING.labels(service)
        self._waiting_gauge.set(0)

    def forget(self) -> None:
        """A publish failed: a feed seen may have gone since; ask again before the next."""
        self._present.clear()

    def reset(self) -> None:
        """A lease tenure ended or began: another relay may hold or send copies meanwhile
        (and reports them: this one's count must not stand beside its own)."""
        self._waiting = None
        self._drain_at = 0.0
        self._waiting_gauge.set(0)

    async def messages(self, entries: Sequence[OutboxEntry]) -> list[list[Outgoing]]:
        """Each entry's messages: the record on its topic (unless it is there already:
        ``copies_only``), then a copy per audience unit whose feed exists and has none
        waiting, in the order the service named them. The other copies are held first."""
        wanted = {unit for entry in entries for unit in entry.audience}
        if not wanted:
            return [[entry.outgoing()] for entry in entries]
        direct = await self._feeds_present(wanted) - await self._units_waiting()
        messages, held = [], []
        for entry in entries:
            units = [unit for unit in entry.audience if unit in direct]
            held += [(unit, entry) for unit in entry.audience if unit not in direct]
            record = [] if entry.copies_only else [entry.outgoing()]
            messages.append([*record, *entry.feed_copies(units)])
        if held:
            await self._hold(held)
        return messages

    async def send_held(self, batch_size: int) -> None:
        """Send a batch of held copies of each unit whose feed now exists, at most every
        ``ABSENT_RECHECK_S`` (at once again while a unit has more)."""
        waiting = await self._units_waiting()
        if not waiting or time.monotonic() < self._drain_at:
            return
        self._drain_at = time.monotonic() + ABSENT_RECHECK_S
        for unit in sorted(await self._feeds_present(waiting)):
            held = await self._backlog.oldest(unit, batch_size)
            if held:
                await self._send(unit, [entry for _, entry in held])
                await self._backlog.release([held_id for held_id, _ in held])
            if len(held) < batch_size:
                waiting.discard(unit)  # none left: its copies go straight to the feed
                log.info("held agency feed copies sent", extra={"unit": unit})
            else:
                self._drain_at = 0.0  # more of them: the next round goes on
        await self._count_waiting()

    async def _send(self, unit: str, entries: list[OutboxEntry]) -> None:
        copies = [entry.feed_copies([unit])[0] for entry in entries]
        try:
            await self._publisher.publish_batch(copies)
        except Exception as exc:
            if not refused_by_broker(exc):
                raise
            for entry, copy in zip(entries, copies, strict=True):  # find the refused one
                try:
                    await self._publisher.publish_batch([copy])
                except Exception as one:
                    if not refused_by_broker(one):
                        raise
                    # Quarantined with its record when it was published: dropped here.
                    log.error(
                        "held agency feed copy refused by the broker; dropped",
                        extra={"unit": unit, "outbox_entry": entry.id, "reason": repr(one)},
                    )

    async def _hold(self, held: list[tuple[str, OutboxEntry]]) -> None:
        await self._backlog.hold(held, SystemClock().now())
        waiting = await self._units_waiting()
        new = sorted({unit for unit, _ in held} - waiting)
        waiting.update(new)
        self._held.inc(len(held))
        await self._count_waiting()
        if new:
            log.warning(
                "agency feeds missing on the broker: their copies are held until they exist",
                extra={"units": new, "service": self._service},
            )

    async def _units_waiting(self) -> set[str]:
        if self._waiting is None:
            self._waiting = await self._backlog.units()
            await self._count_waiting()
        return self._waiting

    async def _count_waiting(self) -> None:
        """The gauge of copies waiting, from the store (only while some may wait)."""
        self._waiting_gauge.set(await self._backlog.count() if self._waiting else 0)

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
        return units & self._present
