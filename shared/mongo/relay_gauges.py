"""What the outbox relay reports: whether it leads (holds the lease) and, while it does,
the backlog it has to publish (``lt_outbox_pending``, ``lt_outbox_oldest_age_seconds``)."""

from __future__ import annotations

import contextlib
import time

from shared.alerting_metrics import RELAY_LEADING
from shared.clock import Clock
from shared.mongo.outbox import Outbox
from shared.telemetry.metrics import OUTBOX_OLDEST_AGE, OUTBOX_PENDING

BACKLOG_REPORT_S = 1.0


class RelayGauges:
    """One service's relay gauges."""

    def __init__(self, outbox: Outbox, clock: Clock, service: str) -> None:
        self._outbox = outbox
        self._clock = clock
        self._service = service
        self._reported_at = float("-inf")
        RELAY_LEADING.labels(service).set(0)

    def leading(self) -> None:
        RELAY_LEADING.labels(self._service).set(1)

    def stop_reporting(self) -> None:
        """The lease went to another instance: it reports the backlog now, and this one's
        last values, frozen, must not stand beside its own (``max by (service)``)."""
        RELAY_LEADING.labels(self._service).set(0)
        for gauge in (OUTBOX_PENDING, OUTBOX_OLDEST_AGE):
            with contextlib.suppress(KeyError):  # never reported
                gauge.remove(self._service)

    async def report(self, caught_up: bool, handed: int) -> None:
        """Refresh the backlog gauges at most once a second.

        Caught up (the last read saw everything pending and published it), what waits is
        what was handed over since (``handed``); otherwise two queries count what the
        store holds.
        """
        now = time.monotonic()
        if now - self._reported_at < BACKLOG_REPORT_S:
            return
        self._reported_at = now
        if caught_up:
            OUTBOX_PENDING.labels(self._service).set(handed)
            OUTBOX_OLDEST_AGE.labels(self._service).set(0.0)
        else:
            await self._outbox.report_backlog(self._service, self._clock.now())
