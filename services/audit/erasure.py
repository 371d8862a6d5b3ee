"""Erasure of personal data after the retention period: the dossier key is destroyed.

A background task looks for dossiers whose key is live and whose latest log entry is
older than ``LT_AUDIT_PERSONAL_DATA_RETENTION_DAYS``. For each, in one transaction, it
destroys the key and appends ``audit.personal-data.erased.v1`` to the log (and publishes
it): the erasure is itself on the record, and every hash, proof and checkpoint stays
valid because the log only ever held the sealed fields.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import timedelta

from audit.config import AuditLogSettings
from audit.domain import log_time
from audit.dossier_keys import DossierKeys
from audit.handlers import append_event
from audit.store import AuditStore
from shared.clock import Clock
from shared.events.audit import PersonalDataErased
from shared.events.registry import make_envelope
from shared.mongo.client import Client, Session, run_in_transaction
from shared.mongo.outbox import Outbox

log = logging.getLogger(__name__)
SOURCE = "/lienthong/audit"
BATCH = 100


class Eraser:
    """Destroys the keys of dossiers past the retention period, and logs each erasure."""

    def __init__(
        self,
        *,
        client: Client,
        store: AuditStore,
        keys: DossierKeys,
        outbox: Outbox,
        settings: AuditLogSettings,
        clock: Clock,
        wake_relay: Callable[[], None],
    ) -> None:
        self._client, self._store, self._keys, self._outbox = client, store, keys, outbox
        self._settings, self._clock, self._wake_relay = settings, clock, wake_relay
        self._stopping = asyncio.Event()

    async def erase_due(self) -> list[str]:
        """Erase every dossier past retention now; the dossier codes erased."""
        cutoff = self._clock.now() - timedelta(days=self._settings.personal_data_retention_days)
        erased = []
        for subject in await self._keys.live_created_before(cutoff, BATCH):
            last = await self._store.last_logged_at(subject)
            if last is not None and last >= log_time(cutoff):
                continue  # still within retention: counted from the dossier's last entry
            if await self.erase(subject, "retention"):
                erased.append(subject)
        return erased

    async def erase(self, subject: str, reason: str) -> bool:
        """Destroy one dossier's key and log that; False if it had no live key."""

        async def work(session: Session) -> bool:
            now = log_time(self._clock.now())
            key_id = await self._keys.erase(subject, now, session)
            if key_id is None:
                return False
            fact = PersonalDataErased(
                dossier_code=subject, key_id=key_id, erased_at=now, reason=reason
            )
            envelope = make_envelope(fact, source=SOURCE, time=now)
            await append_event(envelope, fact, session, store=self._store, clock=self._clock)
            await self._outbox.add(envelope, session, now)
            return True

        done = await run_in_transaction(self._client, work)
        if done:
            self._wake_relay()
            log.info("personal data erased", extra={"dossier": subject, "reason": reason})
        return done

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.erase_due()
            except Exception as exc:  # store outage: the next tick tries again
                log.warning("erasure failed, retrying", extra={"error": repr(exc)})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._stopping.wait(), timeout=self._settings.erasure_poll_seconds
                )

    def stop(self) -> None:
        self._stopping.set()
