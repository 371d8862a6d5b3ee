"""The deadline scheduler: finds late steps and dossiers and raises each once.

Every instance of the service runs one. A scan lists candidates through the overdue
indexes, then claims each dossier in its own transaction: the domain decides which
overdue facts are new, and the dossier is replaced only if its version is still the
one read, together with the outbox entries. Two instances racing on one dossier
cannot both commit (the version filter, and the store's write conflict), so each
overdue fact is emitted once. Time comes from the injected clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime
from functools import partial

from routing.domain.deadlines import detect_overdue
from routing.domain.trail import recorded
from routing.handlers import Routing
from routing.store import StaleDossier
from shared.mongo.client import Client, Session, run_in_transaction

log = logging.getLogger(__name__)


class OverdueScheduler:
    """Scans for overdue steps and dossiers every ``interval`` seconds until stopped."""

    def __init__(
        self, routing: Routing, client: Client, interval_s: float, wake_relay: Callable[[], None]
    ) -> None:
        self._routing = routing
        self._client = client
        self._interval_s = interval_s
        self._wake_relay = wake_relay
        self._stopping = asyncio.Event()
        self.scans = 0

    async def scan(self, now: datetime | None = None) -> int:
        """One pass at ``now`` (default: the clock); returns how many facts it emitted."""
        now = now or self._routing.clock.now()
        today = self._routing.calendar.local_date(now)
        limit = self._routing.options.overdue_scan_batch
        emitted = 0
        for code in await self._routing.store.overdue_candidates(today, limit):
            try:
                emitted += await run_in_transaction(self._client, partial(self._claim, code, now))
            except StaleDossier:
                log.debug("overdue claim lost to another writer", extra={"dossier": code})
        if emitted:
            self._wake_relay()
        self.scans += 1
        return emitted

    async def _claim(self, code: str, now: datetime, session: Session) -> int:
        routing = self._routing
        d = await routing.store.get(code, session)
        if d is None:
            return 0
        ctx = routing.context(f"overdue/{code}/{d.version}", now)
        decision = detect_overdue(d, ctx)
        if decision is None:
            return 0
        recorded(decision, ctx, actor="routing")
        saved = await routing.save(decision, d, session, now)
        await routing.emit(saved, decision.facts, None, session, now)
        return len(decision.facts)

    async def run(self) -> None:
        """Scan, wait, repeat; a failed scan is logged and retried at the next tick."""
        while not self._stopping.is_set():
            try:
                await self.scan()
            except Exception as exc:  # store outage: try again next tick
                log.warning("overdue scan failed", extra={"error": repr(exc)})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=self._interval_s)

    def stop(self) -> None:
        self._stopping.set()
