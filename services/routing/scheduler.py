"""The deadline scheduler: finds steps due soon, late steps and dossiers; raises each once.

Every instance of the service runs one. A scan lists candidates through the deadline
indexes, then claims each dossier in its own transaction: the domain decides which
deadline facts (step due soon, step overdue, dossier overdue) are new, and the
dossier is replaced only if its version is still the one read, together with the
outbox entries. Two instances racing on one dossier cannot both commit (the version
filter, and the store's write conflict), so each fact is emitted once. Time comes
from the injected clock.
"""

from __future__ import annotations

import logging
import time
from datetime import date, datetime
from functools import partial

from routing.dependencies import Routing
from routing.domain.deadlines import detect_deadlines
from routing.domain.trail import recorded
from routing.journeys import action_span, journey_context
from routing.store import StaleDossier, dossier_counts
from shared.events.dossier import DossierState
from shared.telemetry.metrics import DOSSIERS_BY_STATE, DOSSIERS_OVERDUE, WITHDRAWALS_WAITING
from shared.unit_of_work import UnitOfWork
from shared.units_of_work import UnitsOfWork
from shared.workers import PeriodicWorker

log = logging.getLogger(__name__)
GAUGE_INTERVAL_S = 5.0  # dossier gauges are refreshed at most this often (real time)


class OverdueScheduler(PeriodicWorker):
    """Scans for steps due soon and overdue steps and dossiers every ``interval`` seconds."""

    def __init__(self, routing: Routing, units: UnitsOfWork, interval_s: float) -> None:
        super().__init__("overdue-scheduler", interval_s)
        self._routing = routing
        self._units = units
        self.scans = 0
        self._gauges_at = float("-inf")

    async def scan(self, now: datetime | None = None) -> int:
        """One pass at ``now`` (default: the clock); returns how many facts it emitted."""
        now = now or self._routing.clock.now()
        today = self._routing.calendar.local_date(now)
        options, calendar = self._routing.options, self._routing.calendar
        limit = options.overdue_scan_batch
        # Steps due within N working days are due before the (N+1)-th working day.
        due_soon_before = (
            calendar.add_working_days(today, options.due_soon_working_days + 1)
            if options.due_soon_working_days > 0
            else None
        )
        emitted = 0
        candidates = await self._routing.store.overdue_candidates(today, limit, due_soon_before)
        for code in candidates:
            try:
                emitted += await self._units.run(partial(self._claim, code, now), now=now)
            except StaleDossier:
                log.debug("overdue claim lost to another writer", extra={"dossier": code})
        self.scans += 1
        await self.report_gauges(today)
        return emitted

    async def report_gauges(self, today: date, force: bool = False) -> None:
        """Dossiers by state, overdue counts and the withdrawal requests waiting for a
        reception, for ``/metrics`` (rate-limited)."""
        if not force and time.monotonic() - self._gauges_at < GAUGE_INTERVAL_S:
            return
        self._gauges_at = time.monotonic()
        store = self._routing.store
        by_state, late_steps, late = await dossier_counts(store, today)
        for state in DossierState:
            DOSSIERS_BY_STATE.labels("routing", state.value).set(by_state.get(state.value, 0))
        DOSSIERS_OVERDUE.labels("routing", "step").set(late_steps)
        DOSSIERS_OVERDUE.labels("routing", "dossier").set(late)
        waiting, oldest = await store.early_withdrawals_waiting(self._routing.clock.now())
        WITHDRAWALS_WAITING.labels("routing", "count").set(waiting)
        WITHDRAWALS_WAITING.labels("routing", "oldest_age_seconds").set(oldest)

    async def _claim(self, code: str, now: datetime, uow: UnitOfWork) -> int:
        routing = self._routing
        loaded = await routing.store.load(code, uow.session)
        if loaded is None:
            return 0
        d = loaded.dossier
        ctx = routing.context(f"overdue/{code}/{d.version}", now)
        decision = detect_deadlines(d, ctx, routing.options.due_soon_working_days)
        if decision is None:
            return 0
        recorded(decision, ctx, actor="routing")
        journey = journey_context(loaded.journey)
        with action_span("deadlines", code, journey):  # overdue facts join the journey's trace
            await routing.save(decision, d, uow, now)
        return len(decision.facts)

    async def tick(self) -> int:
        """One scan at the clock's time (the worker's round)."""
        return await self.scan()
