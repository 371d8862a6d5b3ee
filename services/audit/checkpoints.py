"""Signed checkpoints: the background task that signs the tree's size and root.

It signs when ``checkpoint_due`` says so (every N unsigned entries, or once the oldest
unsigned entry is T seconds old), stores the checkpoint and publishes
``audit.checkpoint.v1`` in the same unit of work. Each checkpoint also signs the dossier
index of its tree (``audit.dossier_index``), which this task keeps up to date in memory.
A look reads the head only: the latest checkpoint's size and the oldest unsigned entry's
log time are remembered until the next checkpoint (the signing transaction checks the
size remembered, so a checkpoint another instance signed is noticed there).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from pymongo.errors import DuplicateKeyError

from audit.config import AuditLogSettings
from audit.domain import Checkpoint, checkpoint_due, format_log_time, log_time, sign_checkpoint
from audit.dossier_heads import index_at
from audit.dossier_index import DossierIndex
from audit.keys import SigningKey
from audit.store import AuditStore
from shared.clock import Clock
from shared.events.audit import CheckpointSigned
from shared.transparency import merkle
from shared.unit_of_work import UnitOfWork
from shared.units_of_work import UnitsOfWork
from shared.workers import PeriodicWorker

log = logging.getLogger(__name__)


class Checkpointer(PeriodicWorker):
    """Signs checkpoints of one log with one key, looking every poll interval."""

    def __init__(
        self,
        *,
        units: UnitsOfWork,
        store: AuditStore,
        key: SigningKey,
        settings: AuditLogSettings,
        clock: Clock,
    ) -> None:
        super().__init__("audit-checkpoints", settings.checkpoint_poll_seconds)
        self._units = units
        self._store = store
        self._key = key
        self._settings = settings
        self._clock = clock
        self._index = DossierIndex()
        self._signed: int | None = None  # the latest checkpoint's size, as last seen
        self._oldest: tuple[int, datetime] | None = None  # entry at that size: logged at

    async def checkpoint_if_due(self) -> Checkpoint | None:
        """Sign a checkpoint if the cadence rule says it is time."""
        head = await self._store.head()
        if self._signed is None:
            latest = await self._store.latest_checkpoint()
            self._signed = latest.tree_size if latest else 0
        signed = self._signed
        if head.size <= signed:
            return None
        due = checkpoint_due(
            tree_size=head.size,
            checkpointed_size=signed,
            oldest_unsigned_at=await self._logged_at(signed),
            now=self._clock.now(),
            every=self._settings.checkpoint_every,
            max_age=timedelta(seconds=self._settings.checkpoint_seconds),
        )
        return await self.sign_now(head.size, after=signed) if due else None

    async def _logged_at(self, index: int) -> datetime | None:
        """When entry ``index`` was logged (remembered: an entry never changes)."""
        if self._oldest is None or self._oldest[0] != index:
            logged_at = await self._store.logged_at(index)
            if logged_at is None:
                return None
            self._oldest = (index, logged_at)
        return self._oldest[1]

    async def sign_now(
        self, size: int | None = None, *, after: int | None = None
    ) -> Checkpoint | None:
        """Sign the log as it is; None if it is empty or this size is signed already, or if
        the latest checkpoint is not at ``after`` (when given): the cadence was judged on
        a checkpoint another instance has since passed."""
        # Bring the dossier index up to the committed head first, outside the transaction
        # (after a start this reads every entry's subject once); the transaction then
        # reads only the entries appended meanwhile.
        size = (await self._store.head()).size if size is None else size
        self._index = await index_at(self._index, self._store, size)

        async def sign(uow: UnitOfWork) -> Checkpoint | None:
            session = uow.session
            head = await self._store.head(session)
            latest = await self._store.latest_checkpoint(session)
            latest_size = latest.tree_size if latest is not None else 0
            self._signed = latest_size
            if head.size == 0 or latest_size >= head.size:
                return None
            if after is not None and latest_size != after:
                return None  # judge the cadence again on the next look
            now = uow.now
            self._index = await index_at(self._index, self._store, head.size, session)
            checkpoint = sign_checkpoint(
                self._key.signer(self._settings.log_id),
                head.size,
                merkle.Frontier(head.peaks).root().hex(),
                format_log_time(now),
                self._index.commitment().value(),
            )
            await self._store.insert_checkpoint(checkpoint, now, session)
            event = CheckpointSigned(
                tree_size=checkpoint.tree_size,
                root_hash=checkpoint.root_hash,
                signed_at=now,
                key_id=checkpoint.key_id,
                signature=checkpoint.log_signature(),
                note=checkpoint.note,
            )
            uow.emit(event)
            return checkpoint

        try:
            checkpoint = await self._units.run(sign, now=log_time(self._clock.now()))
        except DuplicateKeyError:
            self._signed = None  # another instance signed this size first: read it again
            return None
        if checkpoint is not None:
            self._signed = checkpoint.tree_size
            log.info(
                "checkpoint signed",
                extra={"tree_size": checkpoint.tree_size, "root_hash": checkpoint.root_hash},
            )
        return checkpoint

    async def tick(self) -> Checkpoint | None:
        return await self.checkpoint_if_due()
