"""The live subscriptions kept in memory from a change stream, on the real store: read once
when the stream opens, again after a change that alters them (from this instance at once,
from another through the stream), not after one that does not (a delivery counted); and
the consumer's screen uses that reading instead of a query per run."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from notification.live_subscriptions import LiveSubscriptions
from notification.store import NotificationStore
from notification.subscription_rules import SubscriptionStatus
from notification.subscription_watch import SubscriptionWatch

from shared.runtime import ServiceRuntime
from shared.testing import eventually
from tests.integration.store_commands import StoreCommands
from tests.samples import AT, envelope_of, transfer_accepted


def subscription(sid: str, status: str = "active") -> dict[str, Any]:
    return {
        "_id": sid,
        "url": f"https://{sid}.example/hooks",
        "event_types": ["dossier.transfer.accepted.v1"],
        "units": [],
        "status": status,
        "created_at": AT,
    }


@pytest.fixture
async def watching(
    runtime: ServiceRuntime,
) -> AsyncIterator[tuple[NotificationStore, SubscriptionWatch]]:
    store = NotificationStore(runtime.db)
    watch = SubscriptionWatch(store)
    store.subscriptions_changed = watch.invalidate
    task = asyncio.create_task(watch.run())
    yield store, watch
    watch.stop()
    await asyncio.wait_for(task, timeout=10)


async def _ids(watch: SubscriptionWatch, expected: set[str]) -> bool:
    current = watch.current
    return current is not None and {s.id for s in current} == expected


async def test_the_reading_follows_the_changes_that_alter_it_only(
    runtime: ServiceRuntime, watching: tuple[NotificationStore, SubscriptionWatch]
) -> None:
    store, watch = watching
    await eventually(lambda: _ids(watch, set()))

    await store.add_subscription(subscription("s-1"))  # through this instance
    assert watch.current is None  # stale at once: the screen reads meanwhile
    await eventually(lambda: _ids(watch, {"s-1"}))

    other = NotificationStore(runtime.db)  # another instance: only the stream tells
    await other.add_subscription(subscription("s-2"))
    await eventually(lambda: _ids(watch, {"s-1", "s-2"}))

    commands = StoreCommands("notification")
    await other.delivery_succeeded("s-1", AT, None)  # type: ignore[arg-type]
    await other.subscriptions.update_one({"_id": "s-2"}, {"$set": {"status": "paused"}})

    async def paused() -> bool:
        current = watch.current or []
        return any(s.id == "s-2" and s.status is SubscriptionStatus.PAUSED for s in current)

    await eventually(paused)
    # Changes come in order: the delivery counted was passed over, the pause read once.
    assert commands.on("subscriptions").get("find") == 1


async def test_the_screen_uses_the_watched_reading_without_a_query(
    watching: tuple[NotificationStore, SubscriptionWatch],
) -> None:
    store, watch = watching
    await store.add_subscription(subscription("s-screen"))
    await eventually(lambda: _ids(watch, {"s-screen"}))
    live = LiveSubscriptions(store, lambda: watch.current)
    fact = transfer_accepted("D-screen")
    commands = StoreCommands("notification")

    assert await live.screen([(envelope_of(fact), fact)]) == [True]  # the subscriber wants it

    assert "find" not in commands.on("subscriptions")
