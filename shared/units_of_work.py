"""Opening and running units of work (``shared.unit_of_work``) for one service.

``UnitsOfWork.open`` is one attempt: an error aborts it, nothing is written. ``run``
runs a piece of work in a unit of work and retries it, as the driver does, when the
store reports a transient conflict (two writers on one document); the work must then
be safe to run again, which it is when it only reads and writes through ``uow``. HTTP
actions run ``grouped``: under load they share a transaction (``shared.group_commit``).
After each commit, the outbox entries written are handed to the relay.
"""

from __future__ import annotations

import contextvars
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

import pymongo
from pymongo.errors import PyMongoError
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern

from shared.clock import Clock
from shared.envelope import Envelope
from shared.group_commit import GroupCommit, Job, run_in_context
from shared.mongo.client import (
    DEFAULT_TRANSACTION_TIMEOUT_S,
    Client,
    Session,
    run_in_transaction,
)
from shared.mongo.outbox import Outbox
from shared.mongo.outbox_entry import OutboxEntry
from shared.telemetry.metrics import GROUPED_WRITES
from shared.unit_of_work import UnitOfWork

T = TypeVar("T")


class UnitsOfWork:
    """Opens units of work for one service: its store client, outbox and relay hand-over."""

    def __init__(
        self,
        *,
        client: Client,
        outbox: Outbox,
        clock: Clock,
        service: str,
        on_commit: Callable[[list[OutboxEntry]], None],
        timeout_s: float = DEFAULT_TRANSACTION_TIMEOUT_S,
        group_transactions: int = 4,
        group_size: int = 16,
    ) -> None:
        self._client = client
        self._outbox = outbox
        self._clock = clock
        self._service = service
        self._source = f"/lienthong/{service}"
        self._on_commit = on_commit
        self.timeout_s = timeout_s
        self._groups = GroupCommit[UnitOfWork](
            alone=self._run_alone,
            together=self._run_together,
            max_transactions=group_transactions,
            max_group=group_size,
        )

    async def store_answers(self, timeout_s: float) -> bool:
        """Whether the store answers a ping within ``timeout_s`` (server selection
        included): tells a store out of reach or hung from work that took too long."""
        try:
            with pymongo.timeout(timeout_s):
                await self._client.admin.command("ping")
        except PyMongoError:
            return False
        return True

    @asynccontextmanager
    async def open(
        self,
        cause: Envelope | None = None,
        *,
        correlation_id: str | None = None,
        now: datetime | None = None,
    ) -> AsyncIterator[UnitOfWork]:
        """One transaction: committed with its facts when the block ends, else aborted."""
        with pymongo.timeout(self.timeout_s):
            async with self._client.start_session() as session:
                uow = self._unit(session, cause=cause, correlation_id=correlation_id, now=now)
                async with await session.start_transaction(
                    read_concern=ReadConcern("snapshot"), write_concern=WriteConcern("majority")
                ):
                    yield uow
                    await uow._flush(self._outbox)
        self._after_commit(uow)

    async def run(
        self,
        work: Callable[[UnitOfWork], Awaitable[T]],
        cause: Envelope | None = None,
        *,
        correlation_id: str | None = None,
        now: datetime | None = None,
        grouped: bool = False,
    ) -> T:
        """Run ``work`` in a unit of work, retried on transient conflicts; its result.

        ``grouped`` lets it share a transaction with other grouped work when the store
        is busy (group commit, see ``shared.group_commit``): for HTTP actions, whose
        work only reads and writes through ``uow``.
        """
        with pymongo.timeout(self.timeout_s):
            unit = partial(self._unit, cause=cause, correlation_id=correlation_id, now=now)
            job = Job(work, unit, contextvars.copy_context())  # the deadline above included
            return await (self._groups.run(job) if grouped else self._run_alone(job))

    @property
    def waiting(self) -> int:
        """Grouped pieces of work waiting for a transaction (group commit)."""
        return self._groups.waiting

    async def _run_alone(self, job: Job[UnitOfWork, T]) -> T:
        """One piece of work in its own transaction."""
        attempt: UnitOfWork | None = None

        async def in_transaction(session: Session) -> T:
            nonlocal attempt
            attempt = job.make_unit(session)  # fresh each retry
            result = await job.work(attempt)
            await attempt._flush(self._outbox)
            return result

        result = await run_in_transaction(self._client, in_transaction, self.timeout_s)
        assert attempt is not None
        self._after_commit(attempt)
        return result

    async def _run_together(self, jobs: list[Job[UnitOfWork, Any]]) -> list[Any]:
        """Several pieces of work in turn in one transaction: one outbox insert, one commit."""
        attempts: list[UnitOfWork] = []
        written: list[OutboxEntry] = []

        async def in_transaction(session: Session) -> list[Any]:
            attempts.clear()  # fresh each retry
            written.clear()
            results = []
            for job in jobs:
                attempts.append(job.make_unit(session))
                results.append(await run_in_context(job, attempts[-1]))
            events = [event for attempt in attempts for event in attempt.pending_events]
            numbers: dict[str, list[int]] = {}
            for attempt in attempts:  # in the order their facts were emitted
                for subject, reserved in attempt.reserved_numbers.items():
                    numbers.setdefault(subject, []).extend(reserved)
            now = self._clock.now()
            written.extend(await self._outbox.add_all(events, session, now, numbers))
            return results

        results = await run_in_transaction(self._client, in_transaction, self.timeout_s)
        GROUPED_WRITES.labels(self._service).observe(len(jobs))
        if written:
            self._on_commit(written)
        for attempt in attempts:
            attempt.committed()
        return results

    def _unit(
        self,
        session: Session,
        *,
        cause: Envelope | None,
        correlation_id: str | None,
        now: datetime | None,
    ) -> UnitOfWork:
        return UnitOfWork(
            session,
            source=self._source,
            now=now or self._clock.now(),
            cause=cause,
            correlation_id=correlation_id,
        )

    def _after_commit(self, uow: UnitOfWork) -> None:
        """Hand what the transaction wrote to the relay: it publishes without reading back."""
        if uow._pending.written:
            self._on_commit(uow._pending.written)
        uow.committed()
