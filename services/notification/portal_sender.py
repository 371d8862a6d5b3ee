"""The national portal connector's sender: stored messages POSTed to the portal, in order.

Every notification instance runs one; only the holder of a lease in the store sends
(``leases``, as the outbox relay's), so instances neither post a message twice nor
interleave a dossier's messages. What it sends is each dossier's lowest message not
sent yet (``PortalSyncStore.due``); outcomes: docs/notification.md.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any

import httpx

from notification.portal_sync import DEAD, SENT, PortalSyncSettings, PortalSyncStore
from shared.clock import Clock, SystemClock
from shared.mongo.client import Document
from shared.mongo.lease import Lease
from shared.workers import PeriodicWorker

log = logging.getLogger(__name__)
RETRYABLE = frozenset({408, 425, 429})


def portal_refusal(response: httpx.Response) -> str | None:
    """A 2xx whose body says the portal refused the message (``error_code`` other than
    0 / "00", as OpenCPS reads the portal's answers); None when accepted or not JSON."""
    try:
        body = response.json()
    except ValueError:
        return None
    code = body.get("error_code") if isinstance(body, dict) else None
    if code is None or str(code) in ("0", "00"):
        return None
    return f"portal error_code {code}: {str(body.get('message', ''))[:200]}"


class PortalSender(PeriodicWorker):
    """Delivers due messages to the endpoint, with retries and dead letters (a worker).

    Every instance runs one; only the holder of the ``lease`` sends. It posts a message
    only with at least the whole-request timeout left of its lease (renewed once half
    has run out), so a post ends before another instance may take over; a lease taken
    rather than renewed in time may follow another holder's sends, so the messages read
    before are dropped and read again. A takeover may repeat a message whose outcome its
    sender had not stored yet, never reorder a dossier's messages. Closed after a clean
    stop (no post in flight), it releases the lease.
    """

    def __init__(
        self,
        store: PortalSyncStore,
        settings: PortalSyncSettings,
        http: httpx.AsyncClient,
        clock: Clock,
        lease: Lease,
        wall: Clock | None = None,
    ) -> None:
        super().__init__("portal-sender", settings.interval_s)
        self.store, self.settings, self.http, self.clock = store, settings, http, clock
        # Leases are about real elapsed time, not the (possibly simulated) domain clock.
        self._lease, self._wall = lease, wall or SystemClock()
        self._lease_duration = timedelta(seconds=settings.lease_s)
        self._renew_within = max(self._lease_duration / 2, timedelta(seconds=settings.timeout_s))
        self._held_until: datetime | None = None
        self._tenure = 0  # counts the leases taken rather than renewed in time

    async def tick(self) -> int:
        return await self.send_once()

    async def close(self) -> None:
        """A clean stop gives the lease back, only if still ours (``Lease.release`` names
        its holder): a restart, or another instance, sends at once instead of waiting up
        to ``lease_s``. After a crash nothing is given back: the lease lapses."""
        self._held_until = None
        await self._lease.release()

    async def send_once(self, limit: int = 100) -> int:
        """One pass; returns how many messages were delivered."""
        if not self.settings.endpoint or not await self._leading():
            return 0
        tenure = self._tenure
        delivered = 0
        for doc in await self.store.due(self.clock.now(), limit):
            if not await self._leading() or self._tenure != tenure:
                break  # another instance may have sent since the read: read again
            delivered += await self._deliver(doc)
        return delivered

    async def _leading(self) -> bool:
        """Whether this instance holds the lease with a whole request's time left."""
        now = self._wall.now()
        held_until = self._held_until
        if held_until is not None and now < held_until - self._renew_within:
            return True
        if not await self._lease.acquire(now, self._lease_duration):
            self._held_until = None
            return False
        if held_until is None or now >= held_until:
            self._tenure += 1
        self._held_until = now + self._lease_duration
        return True

    async def _deliver(self, doc: Document) -> int:
        assert self.settings.endpoint is not None
        headers = {"Content-Type": "application/json"}
        if self.settings.token and self.settings.token.get_secret_value():  # "" = none
            headers["Authorization"] = f"Bearer {self.settings.token.get_secret_value()}"
        error, permanent = None, False
        try:
            body = doc["body"]
            if self.settings.unit_code:
                body = {**body, "madonvi": self.settings.unit_code}
            async with asyncio.timeout(self.settings.timeout_s):  # the whole request
                response = await self.http.post(
                    self.settings.endpoint, json=body, headers=headers,
                    timeout=self.settings.timeout_s,
                )  # fmt: skip
            refused = portal_refusal(response) if response.is_success else None
            if response.is_success and refused is None:
                await self.store.settle(doc["_id"], {"status": SENT, "sent_at": self.clock.now()})
                return 1
            error = refused or f"HTTP {response.status_code}: {response.text[:200]}"
            permanent = refused is not None or (
                response.status_code < 500 and response.status_code not in RETRYABLE
            )
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        except TimeoutError:
            error = f"timeout after {self.settings.timeout_s}s"
        await self._failed(doc, error, permanent)
        return 0

    async def _failed(self, doc: Document, error: str, permanent: bool) -> None:
        attempts = doc["attempts"] + 1
        fields: dict[str, Any] = {"attempts": attempts, "last_error": error}
        if permanent or attempts >= self.settings.max_attempts:
            fields["status"] = DEAD
            log.warning(
                "portal message dead-lettered",
                extra={
                    "portal_message": doc["_id"],
                    "dossier": doc["dossier_code"],
                    "error": error,
                },
            )
        else:
            delay = min(
                self.settings.backoff_initial_s * 2 ** (attempts - 1), self.settings.backoff_max_s
            )
            fields["next_attempt_at"] = self.clock.now() + timedelta(seconds=delay)
        await self.store.settle(doc["_id"], fields, if_pending=True)
