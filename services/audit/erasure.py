"""Erasure of personal data after the retention period: the dossier key is destroyed.

A background task looks for dossiers whose key is live and whose latest log entry (not
counting records of an erasure, ``ERASURE_RECORDS``) is older than
``LT_AUDIT_PERSONAL_DATA_RETENTION_DAYS``. For each, in one transaction, it
destroys the key and appends ``audit.personal-data.erased.v1`` to the log (and publishes
it): the erasure is itself on the record, and every hash, proof and checkpoint stays
valid because the log only ever held the sealed fields.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from audit.appender import LogAppender
from audit.config import AuditLogSettings
from audit.domain import log_time
from audit.dossier_keys import DossierKeys
from audit.store import AuditStore
from shared.clock import Clock
from shared.events.audit import PersonalDataErased
from shared.events.erasure import PersonalDataErased as IntakePersonalDataErased
from shared.unit_of_work import UnitOfWork
from shared.units_of_work import UnitsOfWork
from shared.workers import PeriodicWorker

log = logging.getLogger(__name__)
BATCH = 100
# Records of an erasure (intake's of its copy, audit's own) are no activity of the
# dossier: the retention counts from its last other entry, so intake erasing first does
# not put audit's erasure off by a whole period.
ERASURE_RECORDS = (IntakePersonalDataErased.EVENT_TYPE, PersonalDataErased.EVENT_TYPE)


class Eraser(PeriodicWorker):
    """Destroys the keys of dossiers past the retention period, and logs each erasure."""

    def __init__(
        self,
        *,
        units: UnitsOfWork,
        store: AuditStore,
        keys: DossierKeys,
        appender: LogAppender,
        settings: AuditLogSettings,
        clock: Clock,
    ) -> None:
        super().__init__("audit-erasure", settings.erasure_poll_seconds)
        self._units, self._store, self._keys, self._appender = units, store, keys, appender
        self._settings, self._clock = settings, clock

    async def tick(self) -> list[str]:
        return await self.erase_due()

    async def erase_due(self) -> list[str]:
        """Erase every dossier past retention now; the dossier codes erased.

        The candidates are the live keys older than the cutoff, read in pages of
        ``BATCH`` in the order of their creation (then dossier code), each page after the
        last candidate of the one before: a dossier still within retention (a recent
        entry) is passed over, never read again in this pass, so it cannot hold back
        the dossiers after it."""
        cutoff = self._clock.now() - timedelta(days=self._settings.personal_data_retention_days)
        erased: list[str] = []
        after = None
        while True:
            page = await self._keys.live_created_before(cutoff, BATCH, after)
            for candidate in page:
                last = await self._store.last_logged_at(candidate.subject, ERASURE_RECORDS)
                if last is not None and last >= log_time(cutoff):
                    continue  # still within retention: counted from the dossier's last entry
                if await self.erase(candidate.subject, "retention"):
                    erased.append(candidate.subject)
            if len(page) < BATCH:
                return erased
            after = page[-1]

    async def erase(self, subject: str, reason: str) -> bool:
        """Destroy one dossier's key and log that; False if it had no live key."""

        async def work(uow: UnitOfWork) -> bool:
            key_id = await self._keys.erase(subject, uow.now, uow.session)
            if key_id is None:
                return False
            self._appender.forget_key(subject)
            fact = PersonalDataErased(
                dossier_code=subject, key_id=key_id, erased_at=uow.now, reason=reason
            )
            [envelope] = uow.emit(fact)  # published, and logged in the dossier's history
            await self._appender.append([envelope], uow.session)
            return True

        done = await self._units.run(work, now=log_time(self._clock.now()))
        if done:
            log.info("personal data erased", extra={"dossier": subject, "reason": reason})
        return done
