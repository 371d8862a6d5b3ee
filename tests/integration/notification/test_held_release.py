"""Deliveries held for a subscription that a resume reactivated meanwhile, on the real
store: the consumer's and the dispatcher's readings of the subscription are taken before
their writes, so a resume committing in between leaves such a delivery ``held``; the
dispatcher releases it and sends it."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

from notification.handlers import record_notifications
from notification.live_subscriptions import LiveSubscriptions
from notification.store import NotificationStore
from notification.subscription_rules import SubscriptionStatus, SubscriptionView

from shared.runtime import ServiceRuntime
from shared.testing import eventually
from tests.integration.notification.dispatching import (
    RecordingChannel,
    dispatcher,
    planning,
)
from tests.samples import AT, envelope_of, transfer_accepted

TYPE = "dossier.transfer.accepted.v1"


def subscription(sid: str, status: str) -> dict[str, Any]:
    return {
        "_id": sid,
        "url": f"https://{sid}.example/hooks",
        "event_types": [TYPE],
        "units": [],
        "status": status,
        "consecutive_failures": 0,
        "created_at": AT,
    }


async def _sent_once(store: NotificationStore, notification_id: str) -> bool:
    doc = await store.get(notification_id)
    return doc is not None and doc["status"] == "sent"


async def dispatched(
    runtime: ServiceRuntime, notification_id: str, store: NotificationStore | None = None
) -> list[str]:
    """Run a dispatcher (checking held deliveries often) until the notification is sent;
    what its channel sent."""
    channel = RecordingChannel()
    sender = dispatcher(runtime, channel, store=store, held_check_s=0.05)
    running = asyncio.create_task(sender.run())
    try:
        await eventually(lambda: _sent_once(NotificationStore(runtime.db), notification_id))
    finally:
        sender.stop()
        await asyncio.wait_for(running, timeout=20)
    return channel.sent


async def test_a_delivery_held_from_a_reading_before_the_resume_is_released_and_sent(
    runtime: ServiceRuntime,
) -> None:
    """Found by review: the consumer's batch was screened while the subscription was
    paused, the resume released what was held then, and the batch's ``held`` record,
    committed after it, waited for ever."""
    store = NotificationStore(runtime.db)
    await store.add_subscription(subscription("s-late", "paused"))
    paused = SubscriptionView(
        id="s-late", url="https://s-late.example/hooks", event_types=(TYPE,),
        status=SubscriptionStatus.PAUSED,
    )  # fmt: skip
    seen = LiveSubscriptions(store, known=lambda: [paused])
    data = transfer_accepted("D-held-late")
    event = envelope_of(data)
    assert await seen.screen([(event, data)]) == [True]  # read before the resume

    assert await store.resume_subscription("s-late", AT) == 0  # nothing held yet
    async with runtime.unit_of_work(event) as uow:  # the batch commits after it
        planned = dataclasses.replace(planning(runtime), subscriptions=seen)
        await record_notifications([(event, data)], uow, planning=planned)
    [held] = await store.notifications.find({"subscription_id": "s-late"}).to_list()
    assert held["status"] == "held"

    assert await dispatched(runtime, held["_id"]) == [held["_id"]]


class ResumedRightAfterReading(NotificationStore):
    """The subscription is resumed just after the dispatcher has read it (paused)."""

    async def subscription(self, subscription_id: str) -> dict[str, Any] | None:
        doc = await super().subscription(subscription_id)
        if doc is not None and doc["status"] == "paused":
            await NotificationStore(self.subscriptions.database).resume_subscription(
                subscription_id, AT
            )
        return doc


async def test_a_delivery_the_dispatcher_held_as_the_subscription_was_resumed_is_sent(
    runtime: ServiceRuntime,
) -> None:
    """Found by review: the dispatcher read the subscription outside any transaction,
    the resume committed, then the dispatcher settled the delivery ``held`` for ever."""
    store = NotificationStore(runtime.db)
    await store.add_subscription(subscription("s-raced", "active"))
    active = SubscriptionView(
        id="s-raced", url="https://s-raced.example/hooks", event_types=(TYPE,),
        status=SubscriptionStatus.ACTIVE,
    )  # fmt: skip
    data = transfer_accepted("D-held-raced")
    event = envelope_of(data)
    async with runtime.unit_of_work(event) as uow:  # recorded pending, then paused
        planned = dataclasses.replace(
            planning(runtime), subscriptions=LiveSubscriptions(store, known=lambda: [active])
        )
        await record_notifications([(event, data)], uow, planning=planned)
    await store.subscriptions.update_one({"_id": "s-raced"}, {"$set": {"status": "paused"}})
    [pending] = await store.notifications.find({"subscription_id": "s-raced"}).to_list()

    raced = ResumedRightAfterReading(runtime.db)
    assert await dispatched(runtime, pending["_id"], store=raced) == [pending["_id"]]
    [sent] = await store.notifications.find({"_id": pending["_id"]}).to_list()
    assert sent.get("released_at") is not None  # held once, then released
