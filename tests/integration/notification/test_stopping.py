"""A stopping dispatcher, on the real store: a message that went out while the store was
away is proven once it is back, within the stop budget, and never sent again; a send
still in flight when the grace ends is recorded as perhaps sent; claims are kept while
the deliveries in hand end."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from notification.store import NotificationStore
from pymongo.errors import AutoReconnect

from shared.clock import ManualClock
from shared.runtime import ServiceRuntime
from shared.testing import eventually
from tests.integration.notification.dispatching import (
    HangingChannel,
    RecordingChannel,
    dispatcher,
    record,
)


class StoreAwayAtStop(NotificationStore):
    """The store goes away once the channel took the message; the sender is stopped while
    it is away, and it comes back only after two writes tried since the stop."""

    def __init__(self, db: Any) -> None:
        super().__init__(db)
        self.away = asyncio.Event()  # a sent attempt could not be stored
        self.stopped = False  # set by the test once it has asked the sender to stop
        self.tried_since_stop = 0

    async def add_attempts(self, *args: Any, **kwargs: Any) -> None:
        if self.stopped:
            self.tried_since_stop += 1
        if not self.stopped or self.tried_since_stop <= 2:
            self.away.set()
            raise AutoReconnect("connection refused")
        await super().add_attempts(*args, **kwargs)


async def test_a_sender_stopped_while_the_store_is_away_proves_what_went_out_once_it_is_back(
    runtime: ServiceRuntime,
) -> None:
    """Found by review: on stop the attempt write gave up, the record stayed in ``sending``
    without its attempt, and the next life sent the message again."""
    await record(runtime, ["D-away"])  # an email and an SMS: one in hand at a time
    store = StoreAwayAtStop(runtime.db)
    channel = RecordingChannel()
    stopping = dispatcher(runtime, channel, batch=1, store=store, grace_s=5, budget_s=30)
    running = asyncio.create_task(stopping.run())
    await asyncio.wait_for(store.away.wait(), timeout=20)
    stopping.stop()
    store.stopped = True
    await asyncio.wait_for(running, timeout=40)

    assert store.tried_since_stop == 3  # retried after the stop until the store was back
    [sent] = channel.sent
    [proven] = await store.notifications.find({"_id": sent}).to_list()
    assert proven["status"] == "sent" and [a["outcome"] for a in proven["attempts"]] == ["ok"]
    after = RecordingChannel()
    restarted = dispatcher(runtime, after)  # the same instance's next life
    await restarted.recover()
    while await restarted.dispatch_once():
        pass
    assert sent not in after.sent and len(after.sent) == 1  # only the one never started
    assert await store.count("sent") == 2


async def test_a_send_cut_off_by_the_stop_is_on_record_as_perhaps_sent(
    runtime: ServiceRuntime,
) -> None:
    """Found by review: a send still in flight when the grace ended was cancelled and its
    record given back without an attempt, so its resend was a copy nobody knew of."""
    await record(runtime, ["D-cut"])
    channel = HangingChannel()  # the channel never answers
    stopping = dispatcher(runtime, channel, batch=1, grace_s=0, budget_s=10)
    running = asyncio.create_task(stopping.run())
    store = NotificationStore(runtime.db)
    [in_flight] = await eventually(lambda: _in_status(store, "sending", 1))
    stopping.stop()
    await asyncio.wait_for(running, timeout=20)

    [given_back] = await store.notifications.find({"_id": in_flight["_id"]}).to_list()
    assert given_back["status"] == "pending"
    assert [a["outcome"] for a in given_back["attempts"]] == ["unknown"]
    after = RecordingChannel()
    while await dispatcher(runtime, after).dispatch_once():
        pass
    assert in_flight["_id"] in after.sent  # sent again, as the record says it may be
    [sent] = await store.notifications.find({"_id": in_flight["_id"]}).to_list()
    assert [a["outcome"] for a in sent["attempts"]] == ["unknown", "ok"]
    assert await store.count("sent") == 2


async def test_a_stopping_sender_keeps_its_claims_while_its_sends_end(
    runtime: ServiceRuntime,
) -> None:
    """A send may take the whole grace: its lease must not lapse meanwhile, or another
    sender would take the record and send it too."""
    assert isinstance(runtime.clock, ManualClock)
    await record(runtime, ["D-ending"])
    channel = HangingChannel()
    ending = dispatcher(runtime, channel, lease_s=0.3, grace_s=30, budget_s=40)
    running = asyncio.create_task(ending.run())
    store = NotificationStore(runtime.db)
    await eventually(lambda: _in_status(store, "sending", 2))
    ending.stop()
    runtime.clock.advance(timedelta(minutes=5))  # far past the leases taken so far

    await eventually(lambda: _leases_after(store, runtime.clock.now()))
    channel.release.set()
    await asyncio.wait_for(running, timeout=20)
    assert len(channel.sent) == 2 and len(set(channel.sent)) == 2
    assert await store.count("sent") == 2


async def _in_status(store: NotificationStore, status: str, n: int) -> list[Any] | None:
    docs = await store.notifications.find({"status": status}).to_list()
    return docs if len(docs) == n else None


async def _leases_after(store: NotificationStore, moment: Any) -> bool:
    docs = await store.notifications.find({"status": "sending"}).to_list()
    return len(docs) == 2 and all(doc["lease_until"] > moment for doc in docs)
