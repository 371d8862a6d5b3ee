"""Background workers: one shape for the relay, consumers, schedulers, checkpointer, dispatcher.

A worker is started (``start``: join a group, prepare), ``run`` until asked to ``stop``,
then ``close``d (release what it holds: commit offsets, leave the group). The runtime
keeps them in stages and starts them first stage first, stops them last stage first:

- ``DELIVERY``: the outbox relay, which publishes what every other worker wrote, so
  it runs first and stops last;
- ``BACKGROUND``: the service's own workers (scheduler, checkpointer, dispatcher);
- ``INTAKE``: the consumers, which bring new work in, so they stop first.

Stopping is bounded: all stages share one budget for their ``run`` to return, and each
``close`` has its own; what is still running afterwards is cancelled. A worker whose
``run`` needs longer once asked to stop (notification's dispatcher: a send in flight, then
its record) is added with a ``stop_s`` of its own, counted from its ``stop``.

A worker whose ``run`` crashes (every worker's loop rides out outages, so what escapes
is a bug), or returns (or is cancelled) before it was asked to stop (a loop that ended
silently is as gone as one that raised), is logged and listed in ``ended``: the process
no longer does all its work, so its liveness says so and it is stopped to be restarted
(``shared.app.serve``; README, on ``/healthz``). Every worker runs until asked: work
that ends by design is not a worker (a service runs it in its lifespan instead). A
worker asked to stop ahead of the others (notification's dispatcher, whose stop budget
counts from the lifespan's end) is asked through ``stop_early``, so that its return is
not taken for a crash.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Callable
from enum import IntEnum
from typing import Any, Protocol

from shared.alerting_metrics import WORKER_FAILURES, WORKER_INTERVAL, WORKER_LAST_SUCCESS

log = logging.getLogger(__name__)


class Stage(IntEnum):
    """When a worker starts (ascending) and stops (descending)."""

    DELIVERY = 0
    BACKGROUND = 1
    INTAKE = 2


class Worker(Protocol):
    """What the runtime starts, runs in the background and stops, in order."""

    @property
    def name(self) -> str: ...

    async def start(self) -> None:
        """Prepare before running (may raise: the service does not start)."""

    async def run(self) -> None:
        """Work until ``stop`` is asked, then return soon (finish the batch in hand).

        Returning before ``stop`` was asked is taken for a crash (``Workers``)."""

    def stop(self) -> None:
        """Ask ``run`` to return."""

    async def close(self) -> None:
        """Release what the worker holds, after ``run`` returned."""


class PeriodicWorker:
    """Calls ``tick`` every ``interval_s`` until stopped; a failed tick waits for the next.

    Each round is reported for alerting (``shared.alerting_metrics``): the time of the last
    one that succeeded (the time ``run`` began until then) and the failed ones, from zero,
    so a loop that stops, hangs or keeps failing is seen. Nothing is reported before
    ``run``: a worker a service builds but does not run (the portal sender without an
    endpoint, witnessing without witnesses) must not look stalled.
    """

    def __init__(self, name: str, interval_s: float) -> None:
        self._name = name
        self._interval_s = interval_s
        self._stopping = asyncio.Event()

    @property
    def name(self) -> str:
        return self._name

    async def tick(self) -> object:
        """One round of work (a subclass says which)."""
        raise NotImplementedError

    async def start(self) -> None:
        return None

    async def run(self) -> None:
        succeeded = WORKER_LAST_SUCCESS.labels(self.name)
        failures = WORKER_FAILURES.labels(self.name)  # a sample at 0 from the start
        succeeded.set(time.time())
        WORKER_INTERVAL.labels(self.name).set(self._interval_s)
        while not self._stopping.is_set():
            try:
                await self.tick()
            except Exception as exc:  # e.g. a store outage: the next tick tries again
                failures.inc()
                log.warning(f"{self.name} failed; retrying", extra={"error": repr(exc)})
            else:
                succeeded.set(time.time())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=self._interval_s)

    def stop(self) -> None:
        self._stopping.set()

    async def close(self) -> None:
        return None


class Workers:
    """A service's background workers by stage, with their running tasks."""

    def __init__(self) -> None:
        self._staged: list[tuple[Stage, Worker]] = []
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._stop_s: dict[int, float] = {}  # workers given longer than the shared budget
        self._stopping = False
        self._asked: set[int] = set()  # workers asked to stop ahead of the others
        self._ended: list[str] = []
        self._on_end: list[Callable[[str], None]] = []

    @property
    def ended(self) -> list[str]:
        """The workers whose ``run`` crashed or returned before they were asked to stop."""
        return list(self._ended)

    def on_end(self, callback: Callable[[str], None]) -> None:
        """Call ``callback(name)`` when a worker's ``run`` crashes or returns before it was
        asked to stop."""
        self._on_end.append(callback)

    def stop_early(self, worker: Worker) -> None:
        """Ask one worker to stop ahead of the others (``stop`` still waits for it and
        closes it in its stage); its ``run`` returning is then no crash."""
        self._asked.add(id(worker))
        worker.stop()

    def add(self, worker: Worker, stage: Stage, stop_s: float | None = None) -> None:
        """Register a worker; it runs from the next ``start``. ``stop_s``: how long its
        ``run`` may take once asked to stop, if it needs longer than the shared budget
        leaves it."""
        self._staged.append((stage, worker))
        if stop_s is not None:
            self._stop_s[id(worker)] = stop_s

    def of_stage(self, stage: Stage) -> list[Worker]:
        return [worker for s, worker in self._staged if s == stage]

    async def start(self) -> None:
        """Start and run every worker not running yet, first stage first."""
        for stage in sorted(Stage):
            for worker in self.of_stage(stage):
                if id(worker) in self._tasks:
                    continue
                await worker.start()
                task = asyncio.create_task(worker.run(), name=worker.name)
                task.add_done_callback(functools.partial(self._ended_early, id(worker)))
                self._tasks[id(worker)] = task

    async def stop(self, budget_s: float, close_s: float) -> None:
        """Stop the last stage first; ``run`` gets ``budget_s`` in all, ``close`` ``close_s``."""
        self._stopping = True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + budget_s
        for stage in sorted(Stage, reverse=True):
            workers = self.of_stage(stage)
            for worker in workers:
                worker.stop()
            running = [self._tasks[id(w)] for w in workers if id(w) in self._tasks]
            own = [loop.time() + self._stop_s.get(id(w), 0.0) for w in workers]
            until = max([deadline, *own])
            if running:
                await asyncio.wait(running, timeout=max(until - loop.time(), 0.0))
            for worker in workers:
                await _close(worker, close_s)
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _ended_early(self, worker: int, task: asyncio.Task[Any]) -> None:
        name = task.get_name()
        asked = self._stopping or worker in self._asked
        crash = None if task.cancelled() else task.exception()
        if crash is not None:
            log.error("background task crashed", exc_info=crash, extra={"task": name})
        elif asked:  # returned when asked, or cancelled by ``stop`` past the budget
            return
        else:  # returned, or cancelled (a CancelledError let out of its loop): gone all the same
            how = "was cancelled" if task.cancelled() else "stopped"
            log.error(f"background worker {name} {how} without being asked", extra={"task": name})
        if asked:  # on its way out anyway
            return
        self._ended.append(name)
        for callback in self._on_end:
            callback(name)


async def _close(worker: Worker, timeout_s: float) -> None:
    try:
        await asyncio.wait_for(worker.close(), timeout=timeout_s)
    except Exception as exc:  # e.g. the broker is gone: uncommitted records are redelivered
        log.warning(f"{worker.name} did not close cleanly", extra={"error": repr(exc)})
