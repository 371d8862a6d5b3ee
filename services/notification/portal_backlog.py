"""What waits for the national portal, for alerting: messages pending and dead.

A dead message (given up after its attempts, or refused) holds back its dossier's later
messages until operations replay or skip it; with no endpoint configured every message
is held pending. Both are only logged otherwise, so a worker counts them in the store
every ``BACKLOG_INTERVAL_S`` into ``lt_portal_messages`` (``lt_portal_sending`` says
whether they are being sent at all); the alert rules watch them.
"""

from __future__ import annotations

from notification.portal_sync import DEAD, PENDING, PortalSyncStore
from shared.alerting_metrics import PORTAL_MESSAGES, PORTAL_SENDING
from shared.workers import PeriodicWorker

BACKLOG_INTERVAL_S = 15.0  # Prometheus scrapes every 15 s


class PortalBacklog(PeriodicWorker):
    """Counts the portal messages pending and dead (one instance or several: the same
    counts, from the one store)."""

    def __init__(
        self,
        store: PortalSyncStore,
        service: str,
        sending: bool,
        interval_s: float = BACKLOG_INTERVAL_S,
    ) -> None:
        super().__init__("portal-backlog", interval_s)
        self._store = store
        self._service = service
        PORTAL_SENDING.labels(service).set(1 if sending else 0)

    async def tick(self) -> dict[str, int]:
        counts = {status: await self._store.count(status) for status in (PENDING, DEAD)}
        for status, n in counts.items():
            PORTAL_MESSAGES.labels(self._service, status).set(n)
        return counts
