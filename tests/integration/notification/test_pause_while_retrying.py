"""A webhook delivery under way when its subscription is paused or deleted, on the real
store: before each retry the sender reads the subscription again, so a paused one gets no
further attempt until it is resumed (then the delivery goes on with the attempts it has
left), and a deleted one none at all."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from notification.channels import DeliveryError, OutgoingMessage
from notification.handlers import record_notifications
from notification.store import NotificationStore

from shared.runtime import ServiceRuntime
from tests.integration.notification.dispatching import RecordingChannel, dispatcher, planning
from tests.integration.notification.test_held_release import TYPE, subscription
from tests.samples import AT, envelope_of, transfer_accepted


class DownThenUp(RecordingChannel):
    """A receiver answering 503 until it is fixed; remembers every attempt."""

    def __init__(self) -> None:
        super().__init__()
        self.up = False
        self.tried: list[str] = []

    async def send(self, message: OutgoingMessage) -> None:
        self.tried.append(message.notification_id)
        if not self.up:
            raise DeliveryError("HTTP 503 Service Unavailable")
        await super().send(message)


def backoff_that(act: Callable[[], Awaitable[object]]) -> Callable[[float], Awaitable[None]]:
    """The backoff before a retry, during which ``act`` happens (once): what another
    request (a resume, a delete) or another delivery's failure (a pause) does meanwhile."""
    done: list[bool] = []

    async def sleep(_seconds: float) -> None:
        if not done:
            done.append(True)
            await act()

    return sleep


async def recorded(runtime: ServiceRuntime, sid: str, code: str) -> str:
    """A delivery for subscription ``sid``, recorded as the consumer does; its id."""
    store = NotificationStore(runtime.db)
    await store.add_subscription(subscription(sid, "active"))
    data = transfer_accepted(code)
    event = envelope_of(data)
    async with runtime.unit_of_work(event) as uow:
        await record_notifications([(event, data)], uow, planning=planning(runtime))
    [record] = await store.notifications.find({"subscription_id": sid}).to_list()
    assert record["status"] == "pending" and record["source_event_type"] == TYPE
    return str(record["_id"])


async def test_a_delivery_retrying_when_its_subscription_is_paused_waits_for_the_resume(
    runtime: ServiceRuntime,
) -> None:
    """Found by review: a pause stopped new deliveries only; one already retrying went
    on calling the paused subscriber until its attempts were spent, and failed."""
    store = NotificationStore(runtime.db)
    nid = await recorded(runtime, "s-paused", "D-paused-mid")
    channel = DownThenUp()
    pause = backoff_that(
        lambda: store.subscriptions.update_one(
            {"_id": "s-paused"}, {"$set": {"status": "paused", "paused_at": AT}}
        )
    )

    assert await dispatcher(runtime, channel, sleep=pause).dispatch_once() == 1
    held = await store.get(nid)
    assert held is not None and held["status"] == "held"
    assert channel.tried == [nid]  # no attempt after the pause
    assert [(a["number"], a["outcome"]) for a in held["attempts"]] == [(1, "failed")]
    paused = await store.subscription("s-paused")
    assert paused is not None and paused["consecutive_failures"] == 0  # not counted failed

    # Nothing goes out while it stays paused.
    assert await dispatcher(runtime, channel).dispatch_once() == 0

    channel.up = True
    assert await store.resume_subscription("s-paused", AT) == 1
    assert await dispatcher(runtime, channel).dispatch_once() == 1
    sent = await store.get(nid)
    assert sent is not None and sent["status"] == "sent"
    assert channel.sent == [nid] and channel.tried == [nid, nid]
    # The attempts it made before the pause count: it went on with those it had left.
    assert [(a["number"], a["outcome"]) for a in sent["attempts"]] == [
        (1, "failed"),
        (2, "ok"),
    ]


async def test_a_delivery_retrying_when_its_subscription_is_deleted_stops(
    runtime: ServiceRuntime,
) -> None:
    """Found by review: deleting a subscription (its secret forgotten, "no more
    deliveries") left a delivery already retrying to call the receiver until its
    attempts were spent, then dead-lettered and counted it."""
    store = NotificationStore(runtime.db)
    nid = await recorded(runtime, "s-deleted", "D-deleted-mid")
    channel = DownThenUp()
    delete = backoff_that(lambda: store.delete_subscription("s-deleted", AT))

    assert await dispatcher(runtime, channel, sleep=delete).dispatch_once() == 1
    skipped = await store.get(nid)
    assert skipped is not None
    assert (skipped["status"], skipped["error"]) == ("skipped", "subscription deleted")
    assert channel.tried == [nid]
    assert [(a["number"], a["outcome"]) for a in skipped["attempts"]] == [(1, "failed")]


async def test_a_subscription_paused_and_resumed_during_a_backoff_loses_no_attempt(
    runtime: ServiceRuntime,
) -> None:
    """The reading before a retry is the subscription as it stands: resumed by then, the
    delivery goes on at once."""
    store = NotificationStore(runtime.db)
    nid = await recorded(runtime, "s-blip", "D-blip")
    channel = DownThenUp()

    async def pause_and_resume() -> None:
        await store.subscriptions.update_one({"_id": "s-blip"}, {"$set": {"status": "paused"}})
        channel.up = True
        await store.resume_subscription("s-blip", AT)

    sender = dispatcher(runtime, channel, sleep=backoff_that(pause_and_resume))
    assert await sender.dispatch_once() == 1
    sent = await store.get(nid)
    assert sent is not None and sent["status"] == "sent"
    assert channel.tried == [nid, nid]
