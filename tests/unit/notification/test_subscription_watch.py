"""The watch's reading survives the race between a writer's own invalidate and the change
stream: when the stream reports a subscription created through this instance, and the
worker has read it, before the writer gets to ``invalidate``, the worker reads again
instead of leaving the screen to query for every run until the next change."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

from notification.store import NotificationStore
from notification.subscription_rules import SubscriptionStatus, SubscriptionView
from notification.subscription_watch import SubscriptionWatch

from shared.testing import eventually

AWAIT_S = 0.01  # the fake getMore's wait for a change: small bounds, no real server


class FakeStream:
    def __init__(self, changes: asyncio.Queue[dict[str, Any]]) -> None:
        self._changes = changes
        self.alive = True  # False: the store closed it, try_next answers None at once

    async def __aenter__(self) -> FakeStream:
        return self

    async def __aexit__(self, *_: object) -> None:
        return None

    async def try_next(self) -> dict[str, Any] | None:
        if not self.alive:
            return None
        try:
            return await asyncio.wait_for(self._changes.get(), timeout=AWAIT_S)
        except TimeoutError:
            return None


class FakeSubscriptions:
    def __init__(self) -> None:
        self.changes: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.streams: list[FakeStream] = []

    async def watch(self, **_: object) -> FakeStream:
        self.streams.append(FakeStream(self.changes))
        return self.streams[-1]


class FakeStore:
    def __init__(self) -> None:
        self.subscriptions = FakeSubscriptions()
        self.live: list[SubscriptionView] = []
        self.reads = 0

    async def live_subscriptions(self, session: object) -> list[SubscriptionView]:
        self.reads += 1
        return list(self.live)


def view(sid: str) -> SubscriptionView:
    return SubscriptionView(
        id=sid,
        url=f"https://{sid}.example/hooks",
        event_types=("dossier.transfer.accepted.v1",),
        status=SubscriptionStatus.ACTIVE,
    )


async def _ids(watch: SubscriptionWatch, expected: set[str]) -> bool:
    current = watch.current
    return current is not None and {s.id for s in current} == expected


@asynccontextmanager
async def watching(store: FakeStore) -> AsyncIterator[SubscriptionWatch]:
    """The watch running over ``store``, its first reading (nothing live) taken."""
    watch = SubscriptionWatch(cast(NotificationStore, store))
    task = asyncio.create_task(watch.run())
    try:
        await eventually(lambda: _ids(watch, set()), timeout=5)
        yield watch
    finally:
        watch.stop()
        await asyncio.wait_for(task, timeout=5)


async def test_a_late_invalidate_from_the_writer_is_read_again() -> None:
    store = FakeStore()
    async with watching(store) as watch:
        store.live.append(view("s-1"))  # written; the stream is quicker than the writer
        await store.subscriptions.changes.put({"operationType": "insert"})
        await eventually(lambda: _ids(watch, {"s-1"}), timeout=5)
        reads = store.reads

        watch.invalidate()  # the writer's own invalidate, after the stream's reading
        assert watch.current is None
        await eventually(lambda: _ids(watch, {"s-1"}), timeout=5)
        assert store.reads == reads + 1


async def test_a_change_that_alters_no_view_is_passed_over() -> None:
    store = FakeStore()
    async with watching(store) as watch:
        counted = {"updatedFields": {"consecutive_failures": 0, "last_success_at": 1}}
        await store.subscriptions.changes.put(
            {"operationType": "update", "updateDescription": counted}
        )
        store.live.append(view("s-1"))
        await store.subscriptions.changes.put({"operationType": "insert"})
        await eventually(lambda: _ids(watch, {"s-1"}), timeout=5)
        assert store.reads == 2  # the opening's and the insert's: the count read nothing


async def test_a_stream_the_store_closes_is_opened_again() -> None:
    store = FakeStore()
    async with watching(store) as watch:
        store.subscriptions.streams[0].alive = False  # the store ended the cursor
        await eventually(lambda: _opened(store, 2), timeout=5)
        store.live.append(view("s-1"))
        await store.subscriptions.changes.put({"operationType": "insert"})
        await eventually(lambda: _ids(watch, {"s-1"}), timeout=5)


async def _opened(store: FakeStore, streams: int) -> bool:
    return len(store.subscriptions.streams) >= streams
