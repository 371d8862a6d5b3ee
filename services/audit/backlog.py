"""How far signing and witnessing are behind the log, for alerting.

Evidence bundles use the latest checkpoint a quorum of witnesses cosigned
(docs/witness.md): while a witness is down, or the checkpointer stops, entries wait
uncovered and nothing fails. A worker measures it every ``BACKLOG_INTERVAL_S``: the age
of the oldest entry no signed checkpoint covers (``lt_audit_unsigned_age_seconds``), of
the oldest no witnessed checkpoint covers (``lt_audit_unwitnessed_age_seconds``; 0 when
all are covered), and the ages of those two latest checkpoints
(``lt_audit_checkpoint_age_seconds``). The alert rules watch the first two: an idle log
makes its checkpoints old, not its entries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from audit.domain import Checkpoint
from audit.store import AuditStore
from shared.alerting_metrics import AUDIT_CHECKPOINT_AGE, AUDIT_UNSIGNED_AGE, AUDIT_UNWITNESSED_AGE
from shared.clock import Clock
from shared.workers import PeriodicWorker

BACKLOG_INTERVAL_S = 15.0  # Prometheus scrapes every 15 s


@dataclass(frozen=True)
class Backlog:
    """Seconds behind: entries not signed, not witnessed; latest checkpoints' ages."""

    unsigned_s: float
    unwitnessed_s: float
    signed_age_s: float | None
    witnessed_age_s: float | None


class AuditBacklog(PeriodicWorker):
    """Measures the log's signing and witnessing backlog (``quorum`` cosignatures)."""

    def __init__(
        self,
        store: AuditStore,
        clock: Clock,
        service: str,
        quorum: int,
        interval_s: float = BACKLOG_INTERVAL_S,
    ) -> None:
        super().__init__("audit-backlog", interval_s)
        self._store = store
        self._clock = clock
        self._service = service
        self._quorum = quorum

    async def measure(self) -> Backlog:
        now = self._clock.now()
        size = (await self._store.head()).size
        signed = await self._store.latest_checkpoint()
        witnessed = await self._store.latest_checkpoint(cosigners=self._quorum)
        backlog = Backlog(
            unsigned_s=await self._waiting_since(signed, size, now),
            unwitnessed_s=await self._waiting_since(witnessed, size, now),
            signed_age_s=_age(signed, now),
            witnessed_age_s=_age(witnessed, now),
        )
        AUDIT_UNSIGNED_AGE.labels(self._service).set(backlog.unsigned_s)
        AUDIT_UNWITNESSED_AGE.labels(self._service).set(backlog.unwitnessed_s)
        for name, age in (("signed", backlog.signed_age_s), ("witnessed", backlog.witnessed_age_s)):
            if age is not None:
                AUDIT_CHECKPOINT_AGE.labels(self._service, name).set(age)
        return backlog

    async def _waiting_since(self, covered: Checkpoint | None, size: int, now: datetime) -> float:
        """How long the oldest entry past ``covered`` has waited (0: none waits)."""
        first = covered.tree_size if covered is not None else 0
        if first >= size:
            return 0.0
        logged_at = await self._store.logged_at(first)
        return 0.0 if logged_at is None else max((now - logged_at).total_seconds(), 0.0)

    async def tick(self) -> Backlog:
        return await self.measure()


def _age(checkpoint: Checkpoint | None, now: datetime) -> float | None:
    if checkpoint is None:
        return None
    return max((now - checkpoint.signed_at).total_seconds(), 0.0)
