"""The dispatcher: sends recorded notifications and records what happened.

It claims pending records atomically (pending -> sending with a lease, renewed while
the delivery is in hand, so two instances never send the same one and a crashed
sender's claim lapses; a restarted instance takes back its earlier life's claims at
once), or takes those the consumer recorded already claimed for it (``handoff``,
handed over at the commit), builds the message (a rendered template, or the signed
event for a webhook), sends it with bounded retries (its claim confirmed before each
retry), stores every attempt as it ends (``attempts``: those ending while an attempt
write is in flight share the next one), then, in one unit of work shared by the
deliveries that end together (``settling``), stores the outcome and queues
``notification.sent.v1`` / ``notification.failed.v1``.
A delivery whose attempts are spent also goes to the dead-letter topic and counts
toward pausing its subscription. A stopping dispatcher ends its deliveries within a stop
budget (``stopping``): a send in flight gets a grace, what went out is stored.

This module runs the loop: slots, wake-ups, hand-offs, held deliveries released, the
stop. Its parts: ``claims`` (claims taken, kept, confirmed, given back), ``delivering``
(one delivery from its claim to its end), ``sending`` (the message, its retries and
attempts) and ``finishing`` (dead letter, outcome settled, logged).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta

from notification.attempts import AttemptLog
from notification.channels import ClosableChannel, MessageChannel
from notification.claims import Claims
from notification.config import DispatchSettings
from notification.delivering import Delivering
from notification.finishing import Finishing
from notification.handoff import HandOffs
from notification.retry import RetryPolicy, Sleep
from notification.secretbox import SecretBox
from notification.sending import Sending
from notification.settling import Settler
from notification.stopping import StopBudget
from notification.store import NotificationStore
from notification.templates import Renderer
from shared.clock import Clock
from shared.events.dossier import Channel
from shared.kafka.deadletter import DeadLetterWriter
from shared.mongo.client import Document
from shared.units_of_work import UnitsOfWork

log = logging.getLogger(__name__)


class Dispatcher:
    """Sends what handlers recorded; one per service instance, several may run."""

    def __init__(
        self,
        *,
        store: NotificationStore,
        channels: Mapping[Channel, MessageChannel],
        renderer: Renderer,
        units: UnitsOfWork,
        dead_letters: DeadLetterWriter,
        clock: Clock,
        retry: RetryPolicy,
        settings: DispatchSettings,
        pause_after: int,
        topic_prefix: str,
        consumer_group: str,
        instance: str = "dispatcher",
        sleep: Sleep = asyncio.sleep,
        secrets: SecretBox | None = None,
    ) -> None:
        self._store = store
        self._channels = channels
        self._clock = clock
        self._settings = settings
        self._lease = timedelta(seconds=settings.lease_s)
        self._wake = asyncio.Event()
        self._scan = True  # claim pending records on the next round
        self._stop = StopBudget(
            grace_s=settings.shutdown_grace_s, budget_s=settings.stop_budget_s, sleep=sleep
        )
        self._in_flight: dict[asyncio.Task[None], str] = {}  # the running loop's deliveries
        self._held_check_at = 0.0  # loop time of the next release of held deliveries
        self._unrecorded: set[str] = set()  # deliveries whose last attempt is being stored
        self.hand_offs = HandOffs(
            instance=instance,
            lease=self._lease,
            room=lambda: settings.batch_size - len(self._in_flight),
            ready=self._wake.set,
        )
        self._settler = Settler(
            store=store,
            units=units,
            pause_after=pause_after,
            until_stored=self._stop.until_stored,
            linger_s=settings.settle_linger_s,
        )
        self._attempts = AttemptLog(
            store=store,
            until_stored=self._stop.until_stored,
            lease_until=lambda: self._clock.now() + self._lease,
        )
        self._claims = Claims(
            store=store, clock=clock, lease=self._lease, instance=instance, stop=self._stop
        )
        self._delivering = Delivering(
            store=store,
            claims=self._claims,
            sending=Sending(
                channels=channels,
                renderer=renderer,
                secrets=secrets,
                retry=retry,
                clock=clock,
                stop=self._stop,
                claims=self._claims,
                attempts=self._attempts,
                unrecorded=self._unrecorded,
            ),
            finishing=Finishing(
                settler=self._settler,
                dead_letters=dead_letters,
                clock=clock,
                topic_prefix=topic_prefix,
                consumer_group=consumer_group,
            ),
            settler=self._settler,
            stop=self._stop,
            unrecorded=self._unrecorded,
        )

    @property
    def name(self) -> str:
        return "notification-dispatcher"

    async def start(self) -> None:
        return None  # claims left by a crash are taken back in ``run``, retried on outages

    async def close(self) -> None:
        """Close the channels' connections (the email relay's)."""
        for channel in self._channels.values():
            if isinstance(channel, ClosableChannel):
                await channel.close()

    def wake(self) -> None:
        """Scan now (called after a transaction that recorded notifications)."""
        self._scan = True
        self._wake.set()

    def hand_over(self) -> None:
        """A consumer batch ended: claims it issued and never committed are void (what it
        committed was handed over at each commit)."""
        self.hand_offs.batch_done()

    def stop(self) -> None:
        """Claim nothing more and end the deliveries in hand within the stop budget
        (``stopping``), which counts from the first call."""
        self._stop.ask()
        self._wake.set()

    async def dispatch_once(self) -> int:
        """Claim up to a batch, deliver it concurrently, and return how many were claimed."""
        in_flight: dict[asyncio.Task[None], str] = {}
        started, _ = await self._claim_and_start(self._settings.batch_size, in_flight)
        await asyncio.gather(*in_flight)
        return started

    async def recover(self) -> int:
        """Take back what this instance had claimed when it last died (before claiming)."""
        return await self._claims.recover()

    async def run(self) -> None:
        """Deliver until stopped, keeping up to ``batch_size`` deliveries in flight."""
        in_flight = self._in_flight
        await self._recover_until_done()
        self.hand_offs.open()
        self._held_check_at = (
            asyncio.get_running_loop().time() + self._settings.held_check_interval_s
        )
        keeping = asyncio.create_task(self._claims.keep(in_flight), name="notification-leases")
        try:
            while not self._stop.asked:
                self._wake.clear()  # from here on, a wake-up means new records or a free slot
                scan, self._scan = self._scan, False
                more = False
                try:
                    self._start_handed(in_flight)
                    scan = await self._release_held_when_due() or scan
                    if scan:
                        _, more = await self._claim_and_start(self._room(), in_flight)
                except Exception as exc:  # store outage: try again after a pause
                    log.warning("dispatcher claim failed", extra={"error": repr(exc)})
                    self._scan = True
                self._scan = self._scan or more
                if not more or self._room() <= 0:
                    await self._wait()
        finally:
            # The deliveries in hand end within the stop budget (``stopping``): a send in
            # flight gets the grace, what went out is stored, the rest is given back.
            # Their leases are renewed until then: none may lapse while it ends.
            self._stop.ask()  # also when cancelled without a stop
            await self._give_back_unstarted()
            if in_flight:
                await asyncio.wait(set(in_flight), timeout=self._stop.left_s())
            keeping.cancel()
            for task in list(in_flight):
                task.cancel()  # the budget is spent: what is left is lost as by kill -9
            await asyncio.gather(keeping, *in_flight, return_exceptions=True)
            await self._attempts.close(self._stop.left_s() or 0.0)
            await self._settler.close(self._stop.left_s() or 0.0)

    async def _release_held_when_due(self) -> bool:
        """Release the deliveries still held for active subscriptions, once per
        ``held_check_interval_s`` (``NotificationStore.release_held_of_active``); whether
        any was (then they are claimed at once)."""
        now = asyncio.get_running_loop().time()
        if now < self._held_check_at:
            return False
        self._held_check_at = now + self._settings.held_check_interval_s
        released = await self._store.release_held_of_active(self._clock.now())
        if released:
            log.warning(
                "released deliveries held for subscriptions already resumed",
                extra={"count": released},
            )
        return released > 0

    def _room(self) -> int:
        """Free delivery slots, those promised to the consumer's hand-offs excluded."""
        return self._settings.batch_size - len(self._in_flight) - self.hand_offs.reserved

    def _start_handed(self, in_flight: dict[asyncio.Task[None], str]) -> None:
        """Start the deliveries the consumer recorded claimed for this dispatcher, as its
        transactions wrote them (handed over once committed: no read)."""
        for record in self.hand_offs.take():
            self._start(record, record["claimed_at"], in_flight)

    async def _give_back_unstarted(self) -> None:
        """Claims handed over but never started go back to pending for any sender."""
        await self._claims.give_back_unstarted(self.hand_offs.close())

    async def _recover_until_done(self) -> None:
        while not self._stop.asked:
            try:
                await self.recover()
                return
            except Exception as exc:  # store outage at start: try again
                log.warning("dispatcher recovery failed", extra={"error": repr(exc)})
                await self._idle()

    async def _idle(self) -> None:
        self._wake.clear()
        await self._wait()

    async def _wait(self) -> None:
        """Until woken (perhaps already) or the poll interval has passed (then scan)."""
        try:
            await asyncio.wait_for(self._wake.wait(), timeout=self._settings.poll_interval_s)
        except TimeoutError:
            self._scan = True

    async def _claim_and_start(
        self, limit: int, in_flight: dict[asyncio.Task[None], str]
    ) -> tuple[int, bool]:
        """Claim up to ``limit`` records, starting each delivery the moment it is claimed
        (``Claims.claim_and_start``); how many, and whether more may be waiting."""
        return await self._claims.claim_and_start(
            limit, in_flight, lambda record, claimed_at: self._start(record, claimed_at, in_flight)
        )

    def _start(
        self, record: Document, claimed_at: datetime, in_flight: dict[asyncio.Task[None], str]
    ) -> None:
        """Deliver a claimed record in a task of its own, in hand until it ends."""
        full = self._settings.batch_size

        def finished(task: asyncio.Task[None]) -> None:
            in_flight.pop(task, None)
            if len(in_flight) == full - 1:
                self.wake()  # a slot is free where none was

        task = asyncio.create_task(
            self._delivering.deliver(record, claimed_at), name="notification-delivery"
        )
        in_flight[task] = record["claim"]
        task.add_done_callback(finished)
