"""Records written claimed for this instance's dispatcher, on the real store: handed over
at their commit and sent once, without a claim or a read of their own; a claim whose
transaction never committed sends nothing;
what a stopping dispatcher never started goes back to pending; what a killed instance
never started is sent once by its next life; a scan that finds nothing costs one read."""

from __future__ import annotations

import asyncio

from notification.dispatcher import Dispatcher
from notification.handlers import record_notifications
from notification.store import NotificationStore

from shared.runtime import ServiceRuntime
from shared.testing import eventually
from tests.integration.notification.dispatching import (
    RecordingChannel,
    dispatcher,
    planning,
    record,
)
from tests.integration.store_commands import StoreCommands
from tests.samples import contact, envelope_of, received, registered


async def statuses(rt: ServiceRuntime) -> list[str]:
    return sorted([doc["status"] async for doc in rt.db["notifications"].find()])


async def running(sender: Dispatcher) -> asyncio.Task[None]:
    task = asyncio.create_task(sender.run())

    async def taking() -> bool:
        return sender.hand_offs.is_open

    await eventually(taking)
    return task


async def test_records_handed_over_are_sent_once_without_a_claim_of_their_own(
    runtime: ServiceRuntime,
) -> None:
    channel = RecordingChannel()
    sender = dispatcher(runtime, channel)
    task = await running(sender)

    await record(runtime, ["H-1", "H-2"], claims=sender.hand_offs)
    # Claimed as written, for this sender (which may have started them already).
    assert set(await statuses(runtime)) <= {"sending", "sent"}
    sender.hand_over()

    async def all_sent() -> bool:
        return await statuses(runtime) == ["sent"] * 4

    await eventually(all_sent)
    sender.stop()
    await task
    assert len(channel.sent) == 4 and len(set(channel.sent)) == 4
    assert sender.hand_offs.reserved == 0


async def test_a_claim_whose_transaction_never_committed_sends_nothing(
    runtime: ServiceRuntime,
) -> None:
    channel = RecordingChannel()
    sender = dispatcher(runtime, channel)
    task = await running(sender)

    class Aborted(Exception):
        pass

    fact = received("H-lost")
    event = envelope_of(fact)
    try:  # the consumer's transaction fails after the handler wrote claimed records
        async with runtime.unit_of_work(event) as uow:
            contact_first = envelope_of(registered("H-lost", contact()))
            batch = [(contact_first, registered("H-lost", contact())), (event, fact)]
            await record_notifications(batch, uow, planning=planning(runtime, sender.hand_offs))
            raise Aborted
    except Aborted:
        pass
    assert sender.hand_offs.reserved == 2  # email and SMS, claimed but never committed
    await record(runtime, ["H-kept"], claims=sender.hand_offs)  # handed over at its commit
    sender.hand_over()  # the batch ended: the claim that never committed is void

    async def kept_sent() -> bool:
        return await statuses(runtime) == ["sent"] * 2

    await eventually(kept_sent)
    sender.stop()
    await task
    assert len(channel.sent) == 2
    assert sender.hand_offs.reserved == 0


async def test_a_stopping_dispatcher_gives_back_what_it_never_started(
    runtime: ServiceRuntime,
) -> None:
    channel = RecordingChannel()
    sender = dispatcher(runtime, channel)
    task = await running(sender)
    # Committed and handed over, and stopped before the dispatcher's loop runs again (no
    # await in between): it never starts them.
    await record(runtime, ["H-stop"], claims=sender.hand_offs)
    sender.stop()
    await task

    assert channel.sent == [] and await statuses(runtime) == ["pending"] * 2
    after = RecordingChannel()
    assert await dispatcher(runtime, after).dispatch_once() == 2
    assert len(set(after.sent)) == 2


async def test_what_a_killed_instance_never_started_is_sent_once_by_its_next_life(
    runtime: ServiceRuntime,
) -> None:
    killed = dispatcher(runtime, RecordingChannel(), instance="host:8003")
    killed.hand_offs.open()  # running, then kill -9 after the batch committed
    await record(runtime, ["H-killed"], claims=killed.hand_offs)
    assert await statuses(runtime) == ["sending"] * 2

    other = dispatcher(runtime, RecordingChannel(), instance="host:8005")
    assert await other.dispatch_once() == 0  # claims of a live lease: not another's to take
    channel = RecordingChannel()
    restarted = dispatcher(runtime, channel, instance="host:8003")
    assert await restarted.recover() == 2
    assert await restarted.dispatch_once() == 2
    assert len(set(channel.sent)) == 2
    assert await NotificationStore(runtime.db).count("sent") == 2


async def test_a_scan_that_finds_nothing_is_one_read_and_no_transaction(
    runtime: ServiceRuntime,
) -> None:
    """The dispatcher's poll, when nothing waits (its usual case now that the consumer
    hands its records over)."""
    commands = StoreCommands("notification")
    assert await dispatcher(runtime, RecordingChannel()).dispatch_once() == 0
    assert commands.on("notifications") == {"find": 1}
    assert "commitTransaction" not in commands.on("")  # (the relay's own reads aside)
