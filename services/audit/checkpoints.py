"""Signed checkpoints: the background task that signs the tree's size and root.

It signs when ``checkpoint_due`` says so (every N unsigned entries, or once the oldest
unsigned entry is T seconds old), stores the checkpoint and publishes
``audit.checkpoint.v1`` in the same unit of work. Each checkpoint also signs the dossier
index of its tree (``audit.dossier_index``), which this task keeps up to date in memory.
"""

from __future__ import annotations

import logging
from datetime import timedelta

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
from shared.unit_of_work import UnitOfWork, UnitsOfWork
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

    async def checkpoint_if_due(self) -> Checkpoint | None:
        """Sign a checkpoint if the cadence rule says it is time."""
        head = await self._store.head()
        latest = await self._store.latest_checkpoint()
        signed_size = latest.tree_size if latest else 0
        if head.size <= signed_size:
            return None
        due = checkpoint_due(
            tree_size=head.size,
            checkpointed_size=signed_size,
            oldest_unsigned_at=await self._store.logged_at(signed_size),
            now=self._clock.now(),
            every=self._settings.checkpoint_every,
            max_age=timedelta(seconds=self._settings.checkpoint_seconds),
        )
        return await self.sign_now() if due else None

    async def sign_now(self) -> Checkpoint | None:
        """Sign the log as it is; None if it is empty or this size is signed already."""
        # Bring the dossier index up to the committed head first, outside the transaction
        # (after a start this reads every entry's subject once); the transaction then
        # reads only the entries appended meanwhile.
        self._index = await index_at(self._index, self._store, (await self._store.head()).size)

        async def sign(uow: UnitOfWork) -> Checkpoint | None:
            session = uow.session
            head = await self._store.head(session)
            latest = await self._store.latest_checkpoint(session)
            if head.size == 0 or (latest is not None and latest.tree_size >= head.size):
                return None
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
            return None  # another instance signed this size first
        if checkpoint is not None:
            log.info(
                "checkpoint signed",
                extra={"tree_size": checkpoint.tree_size, "root_hash": checkpoint.root_hash},
            )
        return checkpoint

    async def tick(self) -> Checkpoint | None:
        return await self.checkpoint_if_due()
