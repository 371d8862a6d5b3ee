"""Writes gathered from concurrent deliveries: what ends together is stored together.

A dispatcher has up to ``batch_size`` deliveries in hand, and those started together
usually reach the same step together (their messages went out, their outcomes are
known). A ``Gathering`` collects the items they submit for one kind of write (an attempt
to record, an outcome to settle) while others that will submit one are still busy, for
``linger_s`` at most, and writes them in one call. One write at a time: items submitted
meanwhile go in the next (with no linger, that is all the grouping there is). If a
group cannot be written for a reason of its own (not a store outage, which the write
function waits out), each item is written alone, so one that cannot be stored fails
alone."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import Generic, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")


class Gathering(Generic[T, R]):
    """Items of concurrent deliveries, written a group per call of ``write``.

    ``write`` receives the items of a group and returns one result per item, in order.
    """

    def __init__(
        self, write: Callable[[list[T]], Awaitable[list[R]]], *, linger_s: float, name: str
    ) -> None:
        self._write = write
        self._linger_s = linger_s
        self._name = name
        self._queue: list[tuple[T, asyncio.Future[R]]] = []
        self._arrived = asyncio.Event()
        self._producers = 0  # deliveries that will submit, or wait for, an item
        self._flusher: asyncio.Task[None] | None = None

    @contextlib.contextmanager
    def producing(self) -> Iterator[None]:
        """A delivery that will submit items here: a group waits (``linger_s`` at most)
        while it is busy. Its own items count from the moment they are submitted."""
        self._producers += 1
        try:
            yield
        finally:
            self._producers -= 1
            self._arrived.set()

    async def submit(self, item: T) -> R:
        """Write the item with those submitted at about the same time; its result."""
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        self._arrived.set()
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_queued(), name=self._name)
        # Shielded: a delivery stopped while waiting leaves its group to be written.
        return await asyncio.shield(future)

    async def close(self, timeout_s: float) -> None:
        """Let the group being written finish (within ``timeout_s``), then stop."""
        flusher = self._flusher
        if flusher is None or flusher.done():
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(flusher), timeout=timeout_s)
        flusher.cancel()
        await asyncio.gather(flusher, return_exceptions=True)

    async def _flush_queued(self) -> None:
        group: list[tuple[T, asyncio.Future[R]]] = []
        try:
            while self._queue:
                await self._gather()
                group, self._queue = self._queue, []
                await self._write_group(group)
        except BaseException as exc:  # stopped mid-write: nobody may wait forever
            for _, future in [*group, *self._queue]:
                if not future.done():
                    future.set_exception(exc if isinstance(exc, Exception) else RuntimeError(exc))
            self._queue = []
            raise

    async def _gather(self) -> None:
        """Until every busy delivery has submitted, or ``linger_s`` has passed."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._linger_s
        while self._producers > len(self._queue):
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), timeout=remaining)

    async def _write_group(self, group: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            results = await self._write([item for item, _ in group])
        except Exception as exc:
            if len(group) == 1:
                _, future = group[0]
                if not future.done():
                    future.set_exception(exc)
                return
            log.warning(
                "a group write failed; writing each alone",
                extra={"write": self._name, "items": len(group), "error": repr(exc)},
            )
            for one in group:
                await self._write_group([one])
            return
        for (_, future), result in zip(group, results, strict=True):
            if not future.done():
                future.set_result(result)
