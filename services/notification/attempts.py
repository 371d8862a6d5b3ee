"""Recording delivery attempts: those that end together are stored in one write.

Every attempt is stored as it ends, before anything else happens to its delivery (the
next try, the outcome): a message that went out must be on record, or the next claimant
sends it again. So an attempt never waits for others: it is written at once, unless an
attempt write is in flight; then it goes in the next one, as soon as that one returns,
with every other attempt that ended meanwhile (``grouping`` without a linger). A process
killed after a send loses its attempt only within those one or two round trips (the
known window: the message is sent again on restart, with the same key; waiting longer,
for the deliveries still sending, would widen it). Writing every attempt alone made no
measurable difference to how often ``kill -9`` meets the window (docs). Under load, when
deliveries end close together, their attempts share one update command instead of one
round trip each. The write is retried while the store is unavailable (the delivery stays
in hand meanwhile), and an attempt whose group cannot be written for a reason of its own
is written alone.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from notification.delivery_store import AttemptEntry
from notification.grouping import Gathering
from notification.store import NotificationStore

UntilStored = Callable[[Callable[[], Awaitable[Any]]], Awaitable[Any]]


class AttemptLog:
    """Appends the attempts of one dispatcher's deliveries, a group per write."""

    def __init__(
        self,
        *,
        store: NotificationStore,
        until_stored: UntilStored,
        lease_until: Callable[[], datetime],
    ) -> None:
        self._store = store
        self._until_stored = until_stored
        self._lease_until = lease_until  # a live sender's lease, moved on by its writes
        self._groups = Gathering[AttemptEntry, None](
            self._write, linger_s=0, name="notification-attempts"
        )

    async def record(self, notification_id: str, attempt: dict[str, Any]) -> None:
        """Store the attempt (with those ending at the same time); returns once stored."""
        await self._groups.submit(AttemptEntry(notification_id, attempt))

    async def close(self, timeout_s: float) -> None:
        await self._groups.close(timeout_s)

    async def _write(self, entries: list[AttemptEntry]) -> list[None]:
        await self._until_stored(lambda: self._store.add_attempts(entries, self._lease_until()))
        return [None] * len(entries)
