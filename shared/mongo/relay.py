"""The outbox relay: publishes what units of work committed, in order per subject.

Two ways in. After its commit a unit of work hands the entries it wrote to the relay
(``hand_over``), which publishes them from memory, without reading them back, when it
knows every earlier entry of their subject is out (``shared.mongo.handover``). Whatever
it cannot place that way (a gap, a subject it does not remember, entries another process
wrote, an overflowing hand-over queue, anything after a failure, a restart or a new
lease) it reads from the store (``Outbox.pending``), which it also does every
``poll_interval_s``. One task does both, one after the other, so nothing is in flight
during a store read, and the marks it owes are written before each read: a read never
sees an entry the relay already published.

Published entries are marked sent in batches: ``batch_size`` ids at once, or
``mark_sent_linger_s`` after the first, before every store read and on stop. A crash in
between publishes those entries again: delivery is at-least-once, consumers deduplicate
through their inbox.

Only one relay instance per database publishes at a time (a lease in the store), so
order holds with several service instances; a relay that takes the lease (again) forgets
what it remembered and starts from a store read. An entry the broker refuses for itself
(too large, say) can never be published: it is quarantined (kept in the outbox with the
reason, reported to the dead-letter topic, counted and logged) and the relay goes on.

An entry whose service named an audience (``UnitOfWork.emit``) goes out with a copy, the
same envelope, key and headers, to each audience unit's agency feed, in the same batch
and before its mark (``shared.kafka.feeds``; a copy to a feed the broker lacks is held
in the store and sent, in a later round, once the feed exists).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from datetime import datetime, timedelta
from enum import Enum

from shared.alerting_metrics import RELAY_LAST_SUCCESS
from shared.clock import Clock, SystemClock
from shared.kafka.deadletter import DeadLetterWriter
from shared.kafka.feeds import Feeds, HeldCopies
from shared.kafka.publisher import Outgoing, Publisher, refused_by_broker
from shared.mongo.handover import SentMarks, SubjectOrder
from shared.mongo.lease import Lease
from shared.mongo.outbox import Outbox
from shared.mongo.outbox_entry import OutboxEntry
from shared.mongo.quarantine import Quarantine
from shared.mongo.relay_gauges import RelayGauges
from shared.settings import OutboxSettings

log = logging.getLogger(__name__)
# Hand-overs waiting beyond this many batches are left to a store read.
HANDOVER_QUEUE_BATCHES = 10


class Round(Enum):
    """How a relay's round went."""

    LEADING = "leading"  # it holds the lease and relayed what it could
    FOLLOWING = "following"  # another instance holds the lease
    FAILED = "failed"  # the broker or the store failed it: retried after a pause


class OutboxRelay:
    """Publishes outbox entries in order per subject, marking them sent after the broker acks."""

    def __init__(
        self,
        outbox: Outbox,
        lease: Lease,
        publisher: Publisher,
        settings: OutboxSettings,
        clock: Clock,
        service: str,
        dead_letters: DeadLetterWriter,
        feed_backlog: HeldCopies,
        topic_prefix: str = "",
    ) -> None:
        self._outbox = outbox
        self._quarantine = Quarantine(outbox, dead_letters, clock, service, topic_prefix)
        self._lease = lease
        self._publisher = publisher
        self._feeds = Feeds(publisher, topic_prefix, service, feed_backlog)
        self._settings = settings
        self._clock = clock
        self._service = service
        self._wake = asyncio.Event()
        self._stopping = False
        self._lease_duration = timedelta(seconds=settings.lease_s)
        self._held_until: datetime | None = None
        self._gauges = RelayGauges(outbox, clock, service)
        # The last store read saw everything pending and all of it went out, no failure
        # since: the backlog gauges need no query of their own.
        self._caught_up = False
        self._handed: deque[OutboxEntry] = deque()
        self._order = SubjectOrder()
        self._marks = SentMarks(settings.batch_size, settings.mark_sent_linger_s)
        self._read_at = 0.0  # monotonic time of the next store read
        self._trusted = False  # memory may be used: the store was read since the last reset
        # Its heartbeat for alerting: a relay that stops, hangs or keeps failing leaves the
        # time of its last good round behind (from its start until the first).
        self._heartbeat = RELAY_LAST_SUCCESS.labels(service)
        self._heartbeat.set(time.time())

    @property
    def name(self) -> str:
        return "outbox-relay"

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    def hand_over(self, entries: list[OutboxEntry]) -> None:
        """Take the entries a unit of work just committed (called right after the commit)."""
        if self._held_until is None:
            return  # not the lease holder: the holder reads them from the store
        if len(self._handed) + len(entries) > HANDOVER_QUEUE_BATCHES * self._settings.batch_size:
            self._handed.clear()  # a backlog: the store has them all, in order
            self._read_at = 0.0
        else:
            self._handed.extend(entries)
        self._wake.set()

    async def publish_pending(self) -> int:
        """One store read: write the marks owed, then publish a batch of pending entries.

        Not while ``run`` runs (tests step the relay with it after ``stop``).
        """
        await self.flush_marks()
        self._read_at = time.monotonic() + self._settings.poll_interval_s
        self._caught_up = False
        entries = await self._outbox.pending(self._settings.batch_size)
        if self._outbox.backlog:
            self._read_at = 0.0  # more waits: read again at once
        self._trusted = True
        sent = await self._publish(entries) if entries else 0
        self._caught_up = not self._outbox.backlog
        return sent

    async def flush_marks(self) -> None:
        """Mark every published entry sent, in one write (kept for later if it fails)."""
        if self._marks.ids:
            # Real time, not the (possibly simulated) domain clock: ``sent_at`` starts the
            # entry's retention (a TTL index), which runs on the store's real clock.
            await self._outbox.mark_sent(self._marks.ids, SystemClock().now())
            self._marks.clear()

    async def _relay(self) -> None:
        """Publish what was handed over and may go, then read the store if anything calls for it."""
        handed = self._take_handed()
        if handed and self._trusted:
            if await self._publish_handed(handed):
                self._read_at = 0.0
        elif handed:
            self._read_at = 0.0  # not since a reset: the store read gets them
        if time.monotonic() >= self._read_at:
            await self.publish_pending()
        await self._feeds.send_held(self._settings.batch_size)
        if self._marks.due(time.monotonic()):
            await self.flush_marks()

    async def _publish_handed(self, handed: list[OutboxEntry]) -> bool:
        """Publish the hand-overs that may go from memory; whether a store read must follow."""
        accepted = self._order.accept(handed)
        if accepted.ready:
            await self._publish(accepted.ready)
        return accepted.needs_read

    def _take_handed(self) -> list[OutboxEntry]:
        """At most a batch of the waiting hand-overs; a wake-up for the rest."""
        count = min(len(self._handed), self._settings.batch_size)
        taken = [self._handed.popleft() for _ in range(count)]
        if self._handed:
            self._wake.set()
        return taken

    async def _publish(self, entries: list[OutboxEntry]) -> int:
        """Publish entries (each subject's in order), each with its copies to its
        audience's agency feeds (``shared.kafka.feeds``), all in one batch; returns how
        many entries went out."""
        messages = await self._feeds.messages(entries)
        try:
            await self._publisher.publish_batch([m for one in messages for m in one])
        except Exception as exc:
            if not refused_by_broker(exc):
                self._feeds.forget()  # a feed may have gone with the failure
                raise  # an outage: the store still holds them as pending, read again later
            return await self._publish_one_by_one(entries, messages)
        self._published(entries)
        return len(entries)

    def _published(self, entries: list[OutboxEntry]) -> None:
        self._order.published(entries)
        self._marks.add((entry.id for entry in entries), time.monotonic())

    async def _publish_one_by_one(
        self, entries: list[OutboxEntry], messages: list[list[Outgoing]]
    ) -> int:
        """Find the refused entries of a batch: quarantine them, publish the others in order
        (an entry with its feed copies)."""
        sent = 0
        for entry, message in zip(entries, messages, strict=True):
            try:
                await self._publisher.publish_batch(message)
            except Exception as exc:
                if not refused_by_broker(exc):
                    raise
                await self._quarantine(entry, exc)
                self._order.published([entry])  # never to be published: later ones may go
                continue
            self._published([entry])
            sent += 1
        return sent

    def _distrust(self) -> None:
        """Publish nothing from memory until the store has been read again (after a failure).

        What it remembers having published stays true: it still drops late hand-overs of
        entries already out.
        """
        self._handed.clear()
        self._trusted = False
        self._caught_up = False
        self._read_at = 0.0

    def _forget(self) -> None:
        """A new lease tenure, or none: another holder may have published since."""
        self._distrust()
        self._order.clear()
        self._feeds.reset()

    async def _leading(self) -> bool:
        """Whether this relay holds the lease; renewed once half of it has run out.

        Leases are about real elapsed time, not the (possibly simulated) domain clock.
        Renewing only at half-time keeps the lease write off every scan. A lease taken
        rather than renewed in time may follow another holder's: what this relay
        remembers may be stale, so it starts again from the store.
        """
        now = SystemClock().now()
        held_until = self._held_until
        if held_until is not None and now < held_until - self._lease_duration / 2:
            return True
        if not await self._lease.acquire(now, self._lease_duration):
            if held_until is not None:
                self._gauges.stop_reporting()
            self._held_until = None
            self._forget()  # the holder publishes what was handed over here
            return False
        self._held_until = now + self._lease_duration
        self._gauges.leading()
        if held_until is None or now >= held_until:
            self._forget()
        return True

    async def round(self) -> Round:
        """One round of ``run`` (tests step it): publish if leading, a failure noted."""
        try:
            if not await self._leading():
                await self.flush_marks()  # published while it led: still true
                return Round.FOLLOWING
            await self._relay()
            outcome = Round.LEADING
            self._heartbeat.set(time.time())
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # broker or store outage: retry later, drop nothing
            log.warning("outbox relay failed, retrying", extra={"error": repr(exc)})
            self._distrust()
            outcome = Round.FAILED
        if self._held_until is None:
            return outcome  # the lease holder reports the backlog
        try:
            await self._gauges.report(
                self._caught_up, len(self._handed)
            )  # during a broker outage too: what waits grows
        except Exception as exc:  # the store is away: the gauges wait for it
            log.debug("outbox backlog not measured", extra={"error": repr(exc)})
        return outcome

    async def run(self) -> None:
        """Relay until stopped; failures are retried after a pause, nothing is dropped.

        Between rounds the relay waits for a hand-over, the next store read or the marks
        falling due, whichever comes first.
        """
        while not self._stopping:
            self._wake.clear()  # from here on, a wake-up means entries handed over since
            outcome = await self.round()
            if outcome is Round.LEADING:
                await self._wait(self._next_round_in())
            elif outcome is Round.FOLLOWING:
                await self._wait(self._settings.poll_interval_s)
            else:
                self._wake.clear()  # hand-overs are distrusted until a store read
                await self._wait(self._settings.retry_delay_s)
        await self._finish()

    def _next_round_in(self) -> float:
        now = time.monotonic()
        due = [self._read_at]
        marks_at = self._marks.due_at()
        if marks_at is not None:
            due.append(marks_at)
        return max(min(due) - now, 0.0)

    async def _finish(self) -> None:
        """On stop: publish what was handed over (as in a round), then write the marks."""
        try:
            if self._handed and self._trusted and await self._leading():
                await self._publish_handed(self._take_handed())
            await self.flush_marks()
        except Exception as exc:  # what was not marked is published again after a restart
            log.warning("outbox relay stopped before its marks", extra={"error": repr(exc)})

    async def _wait(self, seconds: float) -> None:
        """Until woken (perhaps already) or ``seconds`` have passed."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
