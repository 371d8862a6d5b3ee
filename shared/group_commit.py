"""Group commit: concurrent writers share a transaction when the store is busy.

Each HTTP action is a small unit of work (read a document, write it, queue its facts)
whose commit and outbox insert cost as many store round trips as its own reads and
writes. Under load, the requests that arrive while ``max_transactions`` of them are
already in flight wait and then run together, one after the other, in the next
transaction: one outbox insert and one commit for the whole group. When the store is
idle nothing waits and a request runs alone, as it always did.

A piece of work in a group sees the writes of those before it (one transaction), so the
group behaves as if they ran in turn. If one of them raises, the group's transaction is
aborted: that one runs again alone (its error, if any, is its own) and the others go
back to the front of the queue. A transient conflict retries the whole group, which the
work allows (it must already be safe to run again). Each piece of work runs in its
caller's context, so its spans, trace headers and store deadline are its caller's.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pymongo.errors import PyMongoError

from shared.mongo.client import Session

T = TypeVar("T")
U = TypeVar("U")  # the unit of work type, kept abstract here


@dataclass
class Job(Generic[U, T]):
    """One caller's piece of work, waiting for its result."""

    work: Callable[[U], Awaitable[T]]
    make_unit: Callable[[Session], U]
    context: contextvars.Context
    result: asyncio.Future[T] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class JobFailed(Exception):
    """One piece of work of a group raised: the group's transaction is given up."""

    def __init__(self, job: Job[Any, Any]) -> None:
        super().__init__("a piece of work of the group failed")
        self.job = job


def is_transient(exc: BaseException) -> bool:
    """Whether the driver retries the transaction itself (a write conflict, say)."""
    return isinstance(exc, PyMongoError) and exc.has_error_label("TransientTransactionError")


async def run_in_context(job: Job[U, T], unit: U) -> T:
    """The job's work in its caller's context (a task, because a coroutine cannot switch)."""
    try:
        return await asyncio.create_task(job.work(unit), context=job.context)  # type: ignore[arg-type]
    except Exception as exc:
        if is_transient(exc):
            raise  # the whole group is retried by the driver
        raise JobFailed(job) from exc


class GroupCommit(Generic[U]):
    """Admits pieces of work: alone while few transactions run, else in groups.

    ``alone`` runs one piece of work in its own transaction (retried on conflicts);
    ``together`` runs a list of jobs in one transaction and returns their results in
    order (after the commit), raising ``JobFailed`` for the first that raised.
    """

    def __init__(
        self,
        *,
        alone: Callable[[Job[U, Any]], Coroutine[Any, Any, Any]],
        together: Callable[[list[Job[U, Any]]], Awaitable[list[Any]]],
        max_transactions: int,
        max_group: int,
    ) -> None:
        self._alone = alone
        self._together = together
        self._max_transactions = max_transactions
        self._max_group = max_group
        self._queue: deque[Job[U, Any]] = deque()
        self._in_flight = 0
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def waiting(self) -> int:
        """Pieces of work queued for the next transaction."""
        return len(self._queue)

    async def run(self, job: Job[U, T]) -> T:
        """The job's result, once its transaction has committed."""
        if self._in_flight < self._max_transactions and not self._queue:
            self._in_flight += 1  # a free slot: run in the caller's own task, as ever
            try:
                return await self._alone(job)  # type: ignore[no-any-return]
            finally:
                self._in_flight -= 1
                self._start_waiting()
        self._queue.append(job)
        self._start_waiting()
        return await job.result

    def _start_waiting(self) -> None:
        while self._queue and self._in_flight < self._max_transactions:
            size = min(len(self._queue), self._max_group)
            group = [self._queue.popleft() for _ in range(size)]
            self._in_flight += 1
            # A fresh context: the group's transaction is bounded by its own deadline,
            # not by that of whichever caller happened to start it.
            task = asyncio.create_task(self._run_group(group), context=contextvars.Context())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run_group(self, group: list[Job[U, Any]]) -> None:
        try:
            await self._settle(group)
        finally:
            self._in_flight -= 1
            self._start_waiting()

    async def _settle(self, group: list[Job[U, Any]]) -> None:
        """Run the group; give each job its result, or its error from a run alone."""
        if len(group) == 1:
            await self._settle_alone(group[0])
            return
        try:
            results = await self._together(group)
        except JobFailed as failed:
            # Everyone else waits at the front of the queue; the failing one runs alone.
            self._queue.extendleft(reversed([job for job in group if job is not failed.job]))
            await self._settle_alone(failed.job)
            return
        except Exception:  # the commit itself failed: each finds out alone
            for job in group:
                await self._settle_alone(job)
            return
        for job, result in zip(group, results, strict=True):
            if not job.result.done():
                job.result.set_result(result)

    async def _settle_alone(self, job: Job[U, Any]) -> None:
        try:
            result: Any = await asyncio.create_task(self._alone(job), context=job.context)
        except Exception as exc:
            if not job.result.done():
                job.result.set_exception(exc)
            return
        if not job.result.done():
            job.result.set_result(result)
