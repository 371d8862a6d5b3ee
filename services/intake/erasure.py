"""Erasure of a closed dossier's personal data once its retention has passed.

A background task looks for dossiers closed (``domain.CLOSED_STATES``) more than
``LT_INTAKE_PERSONAL_DATA_RETENTION_DAYS`` ago whose personal data are still kept, and
replaces their personal fields (``model.PERSONAL_FIELDS``) with ``model.ERASED``; the code,
procedure, units, dates, states and history stay, for the look-up and the statistics.
Each dossier is one conditional write that the store checks against the rule again, so
two instances erasing at once, or a fact applied meanwhile, are safe, and a second pass
finds nothing. The write and the fact of the erasure (``dossier.personal-data.erased.v1``:
code, closed state, dates, retention; nothing personal) are one unit of work: the fact
goes to the outbox in the erasure's transaction, so it is published if and only if the
erasure was written, once (of two instances racing, the loser's write matches nothing,
or conflicts and is retried and then matches nothing, and it emits nothing). The audit
log logs it in the dossier's history. Logs name the dossier code only.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from intake.config import IntakeOptions
from intake.domain.feeds import feed_audience
from intake.domain.retention import CLOSED_STATES, erasure_cutoff, erasure_fact, personal_data_due
from intake.model import IntakeDossier
from intake.store import IntakeStore
from shared.clock import Clock
from shared.unit_of_work import UnitOfWork
from shared.units_of_work import UnitsOfWork
from shared.workers import PeriodicWorker

log = logging.getLogger(__name__)
BATCH = 100


class Eraser(PeriodicWorker):
    """Erases the personal data of dossiers closed longer than the retention period."""

    def __init__(
        self, *, units: UnitsOfWork, store: IntakeStore, options: IntakeOptions, clock: Clock
    ) -> None:
        super().__init__("intake-erasure", options.erasure_poll_seconds)
        self._units, self._store, self._clock = units, store, clock
        self._retention = timedelta(days=options.personal_data_retention_days)

    async def tick(self) -> list[str]:
        return await self.erase_due()

    async def erase_due(self) -> list[str]:
        """Erase every dossier past retention now; the codes erased (by this instance).

        For each closed state, the candidates are read in pages of ``BATCH`` in the order
        they ended (then code), each page after the last of the one before, so a dossier
        passed over (another instance erased it meanwhile, a fact reopened it) never holds
        back the ones after it."""
        now = self._clock.now().astimezone(UTC)
        cutoff = erasure_cutoff(now, self._retention)
        states = frozenset(state.value for state in CLOSED_STATES)
        erased: list[str] = []
        for state in sorted(states):
            after: IntakeDossier | None = None
            while True:
                page = await self._store.erasure_candidates(state, cutoff, BATCH, after)
                for dossier in page:
                    if not personal_data_due(dossier, now, self._retention):
                        continue
                    if await self._erase(dossier.without_personal_data(now), states, cutoff):
                        erased.append(dossier.code)
                        log.info("personal data erased", extra={"dossier": dossier.code})
                if len(page) < BATCH:
                    break
                after = page[-1]
        return erased

    async def _erase(self, erased: IntakeDossier, states: frozenset[str], cutoff: datetime) -> bool:
        """Write one dossier's erasure and emit its fact, in one unit of work, if it is
        still due (the store checks); whether this call erased it."""

        async def work(uow: UnitOfWork) -> bool:
            done = await self._store.erase_personal_data(erased, states, cutoff, uow.session)
            if done:
                fact = erasure_fact(erased, self._retention)
                uow.emit(fact, correlation_id=erased.correlation_id, audience=feed_audience(erased))
            return done

        return await self._units.run(work, now=erased.personal_data_erased_at)
