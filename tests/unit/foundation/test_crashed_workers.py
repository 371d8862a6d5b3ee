"""A crashed background worker makes the process unhealthy and stops it to be restarted;
so does one whose loop returns before it was asked to stop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import SimpleNamespace

import httpx
import pytest
from fastapi import FastAPI

from shared.app import service_app, stop_when_a_worker_crashes
from shared.settings import HttpSettings
from shared.workers import Stage, Workers


class Breaking:
    """A worker whose loop lets an error escape once ``breaks`` is set (or, ``returns``,
    whose loop just ends then)."""

    def __init__(self, name: str, returns: bool = False) -> None:
        self.name = name
        self.returns = returns  # its loop ends without an error instead
        self.breaks = asyncio.Event()
        self._stopping = asyncio.Event()

    async def start(self) -> None:
        return None

    async def run(self) -> None:
        stopping = asyncio.create_task(self._stopping.wait())
        breaking = asyncio.create_task(self.breaks.wait())
        await asyncio.wait([stopping, breaking], return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        breaking.cancel()
        if self.breaks.is_set() and not self.returns:
            raise RuntimeError("a bug in the loop")

    def stop(self) -> None:
        self._stopping.set()

    async def close(self) -> None:
        return None


async def test_a_crashed_worker_is_listed_and_announced_a_stopped_one_is_not() -> None:
    workers = Workers()
    relay, consumer = Breaking("outbox-relay"), Breaking("consumer-routing")
    workers.add(relay, Stage.DELIVERY)
    workers.add(consumer, Stage.INTAKE)
    announced: asyncio.Queue[str] = asyncio.Queue()
    workers.on_end(announced.put_nowait)
    await workers.start()

    relay.breaks.set()
    assert await asyncio.wait_for(announced.get(), timeout=5) == "outbox-relay"
    assert workers.ended == ["outbox-relay"]
    await workers.stop(budget_s=5, close_s=1)
    assert workers.ended == ["outbox-relay"]  # the consumer was asked to stop: not a crash


async def test_the_served_app_says_it_failed_and_stops_when_a_worker_crashes() -> None:
    workers = Workers()
    relay = Breaking("outbox-relay")
    workers.add(relay, Stage.DELIVERY)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.runtime = SimpleNamespace(workers=workers)
        await workers.start()
        yield
        await workers.stop(budget_s=5, close_s=1)

    app = service_app(title="t", description="t", lifespan=lifespan, http=HttpSettings())
    server = SimpleNamespace(should_exit=False)
    crashed = stop_when_a_worker_crashes(app, server)
    announced: asyncio.Queue[str] = asyncio.Queue()
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            assert (await client.get("/healthz")).json() == {"status": "ok"}
            workers.on_end(announced.put_nowait)
            relay.breaks.set()
            await asyncio.wait_for(announced.get(), timeout=5)
            healthz = await client.get("/healthz")

    assert healthz.status_code == 503
    assert healthz.json() == {"status": "failed", "crashed": ["outbox-relay"]}
    assert server.should_exit and crashed == ["outbox-relay"]


async def test_a_worker_that_returns_unasked_is_taken_for_a_crash(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A loop that ended without an error is as gone as one that raised: the relay would
    publish nothing while /healthz said ok."""
    workers = Workers()
    relay, scheduler = Breaking("outbox-relay", returns=True), Breaking("overdue-scheduler")
    workers.add(relay, Stage.DELIVERY)
    workers.add(scheduler, Stage.BACKGROUND)
    announced: asyncio.Queue[str] = asyncio.Queue()
    workers.on_end(announced.put_nowait)
    await workers.start()

    with caplog.at_level(logging.ERROR, logger="shared.workers"):
        relay.breaks.set()
        assert await asyncio.wait_for(announced.get(), timeout=5) == "outbox-relay"
    assert workers.ended == ["outbox-relay"]
    assert [r.getMessage() for r in caplog.records] == [
        "background worker outbox-relay stopped without being asked"
    ]
    await workers.stop(budget_s=5, close_s=1)
    assert workers.ended == ["outbox-relay"]  # the scheduler returned when asked


async def test_a_worker_asked_to_stop_early_may_return_before_the_others() -> None:
    """Notification's dispatcher is asked to stop as the lifespan ends, before the runtime
    stops the rest: its return is no crash."""
    workers = Workers()
    dispatcher, relay = Breaking("notification-dispatcher"), Breaking("outbox-relay")
    workers.add(dispatcher, Stage.BACKGROUND)
    workers.add(relay, Stage.DELIVERY)
    announced: list[str] = []
    workers.on_end(announced.append)
    await workers.start()
    [running] = [t for t in asyncio.all_tasks() if t.get_name() == "notification-dispatcher"]

    returned = asyncio.get_running_loop().create_future()
    running.add_done_callback(returned.set_result)  # called after the one ``start`` added

    workers.stop_early(dispatcher)
    await asyncio.wait_for(returned, timeout=5)
    assert workers.ended == [] and announced == []
    await workers.stop(budget_s=5, close_s=1)
    assert workers.ended == []


class Cancelled:
    """A worker whose loop lets out the CancelledError of a task someone else cancelled."""

    name = "overdue-scheduler"

    def __init__(self) -> None:
        self.inner: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def start(self) -> None:
        return None

    async def run(self) -> None:
        await self.inner

    def stop(self) -> None:
        return None

    async def close(self) -> None:
        return None


async def test_a_worker_cancelled_unasked_is_taken_for_a_crash() -> None:
    workers = Workers()
    worker = Cancelled()
    workers.add(worker, Stage.BACKGROUND)
    announced: asyncio.Queue[str] = asyncio.Queue()
    workers.on_end(announced.put_nowait)
    await workers.start()

    worker.inner.cancel()
    assert await asyncio.wait_for(announced.get(), timeout=5) == "overdue-scheduler"
    assert workers.ended == ["overdue-scheduler"]
    await workers.stop(budget_s=5, close_s=1)
