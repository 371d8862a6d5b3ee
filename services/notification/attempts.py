"""Recording delivery attempts: those that end together are stored in one write.

Every attempt is stored as it ends, before anything else happens to its delivery (the
next try, the outcome): a message that went out must be on record, or the next claimant
sends it again. The attempts of deliveries sending at the same time (an applicant's
email and SMS, the units told of one step, a whole claimed batch) are gathered
(``grouping``; ``linger_s`` at most) and appended in one update command, instead of one
round trip each. The write is retried while the store is unavailable (the delivery
stays in hand meanwhile), and an attempt whose group cannot be written for a reason of
its own is written alone.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from notification.grouping import Gathering
from notification.store import AttemptEntry, NotificationStore

UntilStored = Callable[[Callable[[], Awaitable[Any]]], Awaitable[Any]]


class AttemptLog:
    """Appends the attempts of one dispatcher's deliveries, a group per write."""

    def __init__(
        self,
        *,
        store: NotificationStore,
        until_stored: UntilStored,
        lease_until: Callable[[], datetime],
        linger_s: float,
    ) -> None:
        self._store = store
        self._until_stored = until_stored
        self._lease_until = lease_until  # a live sender's lease, moved on by its writes
        self._groups = Gathering[AttemptEntry, None](
            self._write, linger_s=linger_s, name="notification-attempts"
        )

    def sending(self) -> AbstractContextManager[None]:
        """A delivery trying its channel: a group waits for its attempt (``linger_s``)."""
        return self._groups.producing()

    async def record(self, notification_id: str, attempt: dict[str, Any]) -> None:
        """Store the attempt (with those ending at the same time); returns once stored."""
        await self._groups.submit(AttemptEntry(notification_id, attempt))

    async def close(self, timeout_s: float) -> None:
        await self._groups.close(timeout_s)

    async def _write(self, entries: list[AttemptEntry]) -> list[None]:
        await self._until_stored(lambda: self._store.add_attempts(entries, self._lease_until()))
        return [None] * len(entries)
