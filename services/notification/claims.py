"""A dispatcher's claims on the records it sends: taken, kept, confirmed, given back.

A record is claimed atomically (pending -> sending with a lease and a claim id), so two
instances never send the same one. A claim in hand is renewed every third of its lease
(slow receivers, long backoffs) and confirmed before a send that comes late and before
every retry: once lapsed, another sender may own the record, and sending here would send
it twice. A crashed sender's claims lapse; the same instance's next life takes them back
at once (``recover``). A stopping dispatcher gives back what it never started, and a
delivery it ends before its outcome.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from notification.delivery_store import PENDING
from notification.stopping import Abandoned, StopBudget
from notification.store import NotificationStore
from shared.clock import Clock
from shared.mongo.client import Document

log = logging.getLogger(__name__)


class Claims:
    """This instance's claims (``instance``: the same across its restarts)."""

    def __init__(
        self,
        *,
        store: NotificationStore,
        clock: Clock,
        lease: timedelta,
        instance: str,
        stop: StopBudget,
    ) -> None:
        self._store = store
        self._clock = clock
        self._lease = lease
        self._instance = instance
        self._stop = stop

    async def recover(self) -> int:
        """Take back what this instance had claimed when it last died (before claiming)."""
        released = await self._store.release_claims_of(self._instance)
        if released:
            log.warning(
                "recovered notifications left in sending by a crash",
                extra={"count": released, "instance": self._instance},
            )
        return released

    async def claim_and_start(
        self,
        limit: int,
        in_flight: Mapping[asyncio.Task[None], str],
        start: Callable[[Document, datetime], None],
    ) -> tuple[int, bool]:
        """Claim up to ``limit`` records, starting each delivery the moment it is claimed;
        how many, and whether more may be waiting (the last claim was a full one).

        A claim is in hand (renewed, never taken back by this sender) from then on: when
        the store is slow, claiming more before starting can outlast the first claims'
        leases, and this sender would take them again and send them twice.
        """
        started, more = 0, True
        while more and started < limit:
            claimed_at = self._clock.now()
            claimed = await self._store.claim_batch(
                claimed_at,
                self._lease,
                f"{self._instance}/{uuid.uuid4()}",
                self._instance,
                limit - started,
                in_hand=set(in_flight.values()),
            )
            for record in claimed.records:
                start(record, claimed_at)
            started += len(claimed.records)
            # A full batch found but none of it taken (another sender was quicker): the
            # next wake-up or poll looks again, never a tight loop.
            more = claimed.more and bool(claimed.records)
        return started, more

    async def keep(self, in_flight: Mapping[asyncio.Task[None], str]) -> None:
        """Renew the leases of deliveries in hand (slow receivers, long backoffs)."""
        period = self._lease.total_seconds() / 3
        while True:
            await asyncio.sleep(period)
            try:
                await self._store.extend_claims(
                    list(in_flight.values()), self._clock.now() + self._lease
                )
            except Exception as exc:  # store outage: the next renewal may still be in time
                log.warning("could not renew delivery claims", extra={"error": repr(exc)})

    async def still_ours(self, record: Document, claimed_at: datetime) -> Document | None:
        """The record as it stands now, or None if this sender's claim has lapsed.

        A claim younger than a renewal period cannot have lapsed. An older one may have,
        if the store was slow to answer: then another sender owns the record, and
        sending it here would send it twice.
        """
        if self._clock.now() - claimed_at < self._lease / 3:
            return record
        current = await self._store.confirm_claim(
            record["_id"], record["claim"], self._clock.now() + self._lease
        )
        if current is None:
            log.warning(
                "claim lapsed before sending; another sender has the notification",
                extra={"notification_id": record["_id"]},
            )
        return current

    async def confirm_between_attempts(self, record: Document) -> None:
        """Renew the claim before a retry, or give the delivery up if it was lost.

        A backoff lasts up to ``RETRY_MAX_S`` and a store outage may keep the lease from
        being renewed meanwhile: once it lapsed another sender may own the record, and
        retrying here would send the message a second time.
        """
        current = await self._stop.until_stored(
            lambda: self._store.confirm_claim(
                record["_id"], record["claim"], self._clock.now() + self._lease
            )
        )
        if current is None:
            log.warning(
                "claim lapsed between attempts; another sender has the notification",
                extra={"notification_id": record["_id"]},
            )
            raise Abandoned("claim lapsed between attempts", give_back=False)

    async def release(self, record: Document) -> None:
        """Give the record back (its attempts, the one that went out included, are on it)."""
        with contextlib.suppress(Exception):  # else its claim lapses, or is taken back
            await self._stop.until_stored(
                lambda: self._store.settle(record["_id"], record["claim"], PENDING, {})
            )

    async def give_back_unstarted(self, claims: list[str]) -> None:
        """Claims handed over but never started go back to pending for any sender."""
        with contextlib.suppress(Exception):  # else they lapse with their lease
            await self._stop.bounded(lambda: self._store.give_back(claims))
