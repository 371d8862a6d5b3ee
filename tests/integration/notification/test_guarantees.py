"""One message per recipient even across restarts, crashed senders and competing instances;
outcomes stored a group per transaction, a bad one alone."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

from notification.channels import DeliveryError, OutgoingMessage
from notification.config import NotificationSettings
from notification.delivery_store import Claimed, StatusChange
from notification.main import create_app
from notification.store import NotificationStore
from prometheus_client import REGISTRY
from pymongo.errors import AutoReconnect

from shared.clock import ManualClock
from shared.runtime import ServiceRuntime
from shared.testing import ActAs, eventually, running_app
from tests.integration.notification.dispatching import (
    HangingChannel,
    RecordingChannel,
    dispatcher,
    record,
)
from tests.integration.notification.helpers import notifications, publish, sms_lines
from tests.integration.notification.servers import _Collector
from tests.samples import (
    contact,
    envelope_of,
    received,
    registered,
    step_overdue,
)

CODE = "001.21.31.H59-261126-0201"


async def test_restart_between_recording_and_sending_sends_each_message_once(
    settings: NotificationSettings, smtp: _Collector, sms_file: Path
) -> None:
    event = envelope_of(received(CODE))
    recording_only = settings.model_copy(
        update={"dispatch": settings.dispatch.model_copy(update={"enabled": False})}
    )
    async with running_app(create_app(recording_only), ActAs("admin")) as client:
        await publish(settings, envelope_of(registered(CODE, contact())), event)
        pending = await eventually(lambda: _statuses(client, CODE, {"pending"}, 2))
    assert smtp.messages == [] and sms_lines(sms_file) == []
    assert {item["channel"] for item in pending} == {"email", "sms"}

    async with running_app(create_app(settings), ActAs("admin")) as client:
        await eventually(lambda: _statuses(client, CODE, {"sent"}, 2))
        # The same event again, then a later one on the same dossier as a barrier.
        barrier = envelope_of(step_overdue(CODE))
        await publish(settings, event, barrier)
        await eventually(lambda: _statuses(client, CODE, {"sent"}, 3))
    assert len(smtp.to("an.nguyen@example.vn")) == 1
    assert len(sms_lines(sms_file)) == 1


async def _statuses(
    client: Any, code: str, statuses: set[str], n: int
) -> list[dict[str, Any]] | None:
    items = await notifications(client, code)
    assert len(items) <= n
    return items if len(items) == n and {i["status"] for i in items} <= statuses else None


async def test_two_dispatchers_never_send_the_same_notification(runtime: ServiceRuntime) -> None:
    await record(runtime, [f"D-{n}" for n in range(12)])  # email + SMS each: 24
    channel = RecordingChannel()
    first, second = dispatcher(runtime, channel), dispatcher(runtime, channel)

    store = NotificationStore(runtime.db)
    # Until nothing is pending (bounded): under heavy load a round once ended with both
    # senders claiming nothing while records were still pending; the next round takes them.
    for _ in range(50):
        if not await store.count("pending"):
            break
        await asyncio.gather(first.dispatch_once(), second.dispatch_once())

    assert len(channel.sent) == 24 and len(set(channel.sent)) == 24
    assert await store.count("sent") == 24
    assert await runtime.db["outbox"].count_documents({"type": "notification.sent.v1"}) == 24


async def test_a_crashed_senders_claim_lapses_and_another_sends_once(
    runtime: ServiceRuntime,
) -> None:
    assert isinstance(runtime.clock, ManualClock)
    await record(runtime, ["D-crash"])
    store = NotificationStore(runtime.db)
    lease = timedelta(seconds=60)
    crashed = await store.claim(runtime.clock.now(), lease, "crashed-sender")
    assert crashed is not None
    channel = RecordingChannel()
    survivor = dispatcher(runtime, channel)

    assert await survivor.dispatch_once() == 1  # the other record; the claimed one is live
    runtime.clock.advance(lease + timedelta(seconds=1))
    assert await survivor.dispatch_once() == 1
    assert await survivor.dispatch_once() == 0
    assert crashed["_id"] in channel.sent and len(channel.sent) == 2
    assert await store.count("sent") == 2


async def test_a_message_sent_before_a_crash_is_not_sent_again(runtime: ServiceRuntime) -> None:
    assert isinstance(runtime.clock, ManualClock)
    await record(runtime, ["D-sent"])
    store = NotificationStore(runtime.db)
    lease = timedelta(seconds=60)
    for _ in range(2):  # both channels: sent, attempt recorded, then the sender died
        doc = await store.claim(runtime.clock.now(), lease, "dead")
        assert doc is not None
        attempt = {"number": 1, "at": runtime.clock.now(), "outcome": "ok", "error": None}
        await store.add_attempt(doc["_id"], attempt, runtime.clock.now() + lease)
    runtime.clock.advance(lease + timedelta(seconds=1))
    channel = RecordingChannel()

    assert await dispatcher(runtime, channel).dispatch_once() == 2
    assert channel.sent == []
    assert await store.count("sent") == 2


async def test_a_restarted_instance_finishes_what_it_had_sent_without_waiting_or_resending(
    runtime: ServiceRuntime,
) -> None:
    """Killed after the message went out: the new life publishes the outcome at once."""
    await record(runtime, ["D-killed"])
    store = NotificationStore(runtime.db)
    lease = timedelta(seconds=60)
    claimed = []
    for _ in range(2):  # email and SMS went out and were recorded, then kill -9
        doc = await store.claim(runtime.clock.now(), lease, "host:8003/old", "host:8003")
        assert doc is not None
        attempt = {"number": 1, "at": runtime.clock.now(), "outcome": "ok", "error": None}
        await store.add_attempt(doc["_id"], attempt, runtime.clock.now() + lease)
        claimed.append(doc["_id"])
    other_instance = dispatcher(runtime, RecordingChannel(), instance="host:8005")
    assert await other_instance.recover() == 0  # not its claims: they still wait for the lease
    assert await other_instance.dispatch_once() == 0

    channel = RecordingChannel()
    restarted = dispatcher(runtime, channel, instance="host:8003")
    assert await restarted.recover() == 2  # no lease to wait for
    assert await restarted.dispatch_once() == 2
    assert channel.sent == []  # nothing sent twice
    assert await store.count("sent") == 2
    outcomes = runtime.db["outbox"].find({"type": "notification.sent.v1"})
    assert sorted([e["subject"] async for e in outcomes]) == ["D-killed", "D-killed"]


async def test_a_live_senders_claims_are_renewed_while_the_delivery_is_in_hand(
    runtime: ServiceRuntime,
) -> None:
    assert isinstance(runtime.clock, ManualClock)
    await record(runtime, ["D-slow"])
    channel = HangingChannel()
    slow = dispatcher(runtime, channel, lease_s=0.3)
    running = asyncio.create_task(slow.run())
    store = NotificationStore(runtime.db)
    first = await eventually(lambda: _leases(store))
    runtime.clock.advance(timedelta(minutes=5))  # far past the first lease

    renewed = await eventually(lambda: _leases(store, after=max(first)))
    assert len(renewed) == 2  # both deliveries still in hand, neither claim lapsed
    channel.release.set()
    await eventually(lambda: _count_sent(store, 2))
    slow.stop()
    await running
    assert len(channel.sent) == 2 and len(set(channel.sent)) == 2  # each sent once


async def _leases(store: NotificationStore, after: Any = None) -> list[Any] | None:
    docs = await store.notifications.find({"status": "sending"}).to_list()
    leases = [d["lease_until"] for d in docs]
    if len(leases) < 2 or (after is not None and not all(t > after for t in leases)):
        return None
    return leases


async def _count_sent(store: NotificationStore, n: int) -> bool:
    return await store.count("sent") == n


class StoreDownAfterSending(NotificationStore):
    """The store goes away just after the channel took the message, then comes back: the
    write that records the sent attempt fails."""

    def __init__(self, db: Any, failures: int) -> None:
        super().__init__(db)
        self.failures = failures

    async def add_attempts(self, *args: Any, **kwargs: Any) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise AutoReconnect("connection closed")
        await super().add_attempts(*args, **kwargs)


async def test_a_message_sent_while_the_store_goes_away_is_recorded_once_it_is_back(
    runtime: ServiceRuntime,
) -> None:
    """Found by the fault matrix: the delivery crashed, its message was never proven."""
    await record(runtime, ["D-outage"])
    store = StoreDownAfterSending(runtime.db, failures=2)
    channel = RecordingChannel()

    assert await dispatcher(runtime, channel, store=store).dispatch_once() == 2

    assert store.failures == 0
    assert len(channel.sent) == 2 and len(set(channel.sent)) == 2  # each sent once
    assert await store.count("sent") == 2
    sent = runtime.db["outbox"].find({"type": "notification.sent.v1"})
    assert len([entry async for entry in sent]) == 2


class SlowToClaim(NotificationStore):
    """One record per claim, whose reply comes back late: the clock moves on by ``delay``."""

    def __init__(self, db: Any, clock: ManualClock, delay: timedelta) -> None:
        super().__init__(db)
        self.clock, self.delay = clock, delay

    async def claim_batch(self, *args: Any, **kwargs: Any) -> Claimed:
        now, lease, claim_id, claimed_by, _limit = args
        docs = await super().claim_batch(now, lease, claim_id, claimed_by, 1, **kwargs)
        self.clock.advance(self.delay)
        return docs


async def test_a_slow_store_never_makes_a_sender_take_back_its_own_first_claims(
    runtime: ServiceRuntime,
) -> None:
    """Found by the fault matrix (store replies 2.5 s late, lease 10 s): claiming a whole
    batch outlasted the first claims' leases, the sender took them again and sent twice."""
    assert isinstance(runtime.clock, ManualClock)
    await record(runtime, ["D-slow-1", "D-slow-2"])  # four records
    store = SlowToClaim(runtime.db, runtime.clock, timedelta(seconds=25))
    channel = RecordingChannel()

    assert await dispatcher(runtime, channel, store=store, lease_s=60).dispatch_once() == 4

    assert len(channel.sent) == 4 and len(set(channel.sent)) == 4
    assert await store.count("sent") == 4


async def test_a_sender_whose_claim_lapsed_before_sending_leaves_it_to_the_new_owner(
    runtime: ServiceRuntime,
) -> None:
    assert isinstance(runtime.clock, ManualClock)
    clock: ManualClock = runtime.clock  # narrowed for the class below
    await record(runtime, ["D-lapsed"])
    lease = timedelta(seconds=60)

    class OvertakenAfterClaiming(NotificationStore):
        """Between this sender's claim and its send, the lease lapses and another claims."""

        async def claim_batch(self, *args: Any, **kwargs: Any) -> Claimed:
            docs = await super().claim_batch(*args, **kwargs)
            if docs.records:
                clock.advance(lease + timedelta(seconds=1))
                rival = await NotificationStore(runtime.db).claim(clock.now(), lease, "rival")
                assert rival is not None and rival["_id"] == docs.records[0]["_id"]
            return docs

    store = OvertakenAfterClaiming(runtime.db)
    channel = RecordingChannel()

    await dispatcher(runtime, channel, store=store, batch=1).dispatch_once()

    assert channel.sent == []  # the rival owns it and sends it
    rival = await store.notifications.find_one({"claim": "rival"})
    assert rival is not None and rival["status"] == "sending" and not rival.get("attempts")


async def test_a_sender_whose_claim_lapsed_between_attempts_leaves_the_retry_to_the_new_owner(
    runtime: ServiceRuntime,
) -> None:
    """Found by review: a sender slept up to a minute between attempts and never looked
    at its claim again; after a store outage longer than the lease, it and the record's
    new owner both sent the message."""
    assert isinstance(runtime.clock, ManualClock)
    clock: ManualClock = runtime.clock
    await record(runtime, ["D-retry-lapsed"])
    lease = timedelta(seconds=60)
    rivals: list[str] = []

    class FailsThenOvertaken(RecordingChannel):
        """The first try fails; during the backoff the lease lapses and a rival claims."""

        async def send(self, message: OutgoingMessage) -> None:
            if not rivals:
                clock.advance(lease + timedelta(seconds=1))
                rival = await NotificationStore(runtime.db).claim(clock.now(), lease, "rival")
                assert rival is not None and rival["_id"] == message.notification_id
                rivals.append(rival["_id"])
                raise DeliveryError("HTTP 503 Service Unavailable")
            await super().send(message)

    channel = FailsThenOvertaken()
    await dispatcher(runtime, channel, batch=1).dispatch_once()

    assert channel.sent == []  # the retry is the rival's to make
    store = NotificationStore(runtime.db)
    [taken] = await store.notifications.find({"_id": rivals[0]}).to_list()
    assert (taken["claim"], taken["status"]) == ("rival", "sending")
    assert [a["outcome"] for a in taken["attempts"]] == ["failed"]

    clock.advance(lease + timedelta(seconds=1))  # the rival died: its claim lapses
    after = RecordingChannel()
    while await dispatcher(runtime, after, batch=1).dispatch_once():
        pass
    assert after.sent.count(rivals[0]) == 1
    [sent] = await store.notifications.find({"_id": rivals[0]}).to_list()
    assert [a["outcome"] for a in sent["attempts"]] == ["failed", "ok"]


async def test_a_message_sent_after_its_claim_lapsed_is_on_record_for_the_new_owner(
    runtime: ServiceRuntime,
) -> None:
    """The sent attempt goes with the outcome in one write; when the claim was lost while
    sending, the attempt is still kept on the record, so its new owner does not send it."""
    assert isinstance(runtime.clock, ManualClock)
    clock: ManualClock = runtime.clock
    await record(runtime, ["D-overtaken"])
    lease = timedelta(seconds=60)
    rivals: list[str] = []

    class OvertakenWhileSending(RecordingChannel):
        async def send(self, message: OutgoingMessage) -> None:
            await super().send(message)
            clock.advance(lease + timedelta(seconds=1))
            rival = await NotificationStore(runtime.db).claim(clock.now(), lease, "rival")
            assert rival is not None and rival["_id"] == message.notification_id
            rivals.append(rival["_id"])

    channel = OvertakenWhileSending()
    await dispatcher(runtime, channel, batch=1).dispatch_once()
    store = NotificationStore(runtime.db)
    [taken] = await store.notifications.find({"claim": "rival"}).to_list()
    assert taken["status"] == "sending" and [a["outcome"] for a in taken["attempts"]] == ["ok"]

    clock.advance(lease + timedelta(seconds=1))  # the rival died too: its claim lapses
    after = RecordingChannel()
    while await dispatcher(runtime, after, batch=1).dispatch_once():
        pass
    assert channel.sent == rivals and taken["_id"] not in after.sent  # sent once only
    assert await store.count("sent") == 2


class SettlingHangs(NotificationStore):
    """The write of a sent message's outcome never returns (until the sender is stopped)."""

    def __init__(self, db: Any) -> None:
        super().__init__(db)
        self.hanging = asyncio.Event()

    async def settle_all(self, changes: list[StatusChange], session: Any) -> set[str]:
        if any(change.status == "sent" for change in changes):
            self.hanging.set()
            await asyncio.Event().wait()
        return await super().settle_all(changes, session)


async def test_a_sender_stopped_before_storing_a_sent_message_gives_it_back_as_sent(
    runtime: ServiceRuntime,
) -> None:
    await record(runtime, ["D-stopped"])
    store = SettlingHangs(runtime.db)
    channel = RecordingChannel()
    stopping = dispatcher(runtime, channel, batch=1, store=store, grace_s=0, budget_s=0.5)
    running = asyncio.create_task(stopping.run())
    await asyncio.wait_for(store.hanging.wait(), timeout=20)
    stopping.stop()
    await running

    [given_back] = await store.notifications.find({"_id": channel.sent[0]}).to_list()
    assert given_back["status"] == "pending"
    assert [a["outcome"] for a in given_back["attempts"]] == ["ok"]
    after = RecordingChannel()
    while await dispatcher(runtime, after).dispatch_once():
        pass
    assert channel.sent[0] not in after.sent  # finished without sending it again
    assert await store.count("sent") == 2


def _store_commands(collection: str, command: str) -> float:
    labels = {"service": "notification", "collection": collection, "command": command}
    return REGISTRY.get_sample_value("lt_store_commands_total", labels) or 0.0


async def test_outcomes_that_end_together_are_stored_in_one_transaction(
    runtime: ServiceRuntime,
) -> None:
    await record(runtime, ["D-group-1", "D-group-2"])  # four records, two dossiers
    channel = RecordingChannel()
    together = dispatcher(runtime, channel, linger_s=30)  # until all four have ended
    commits, inserts = _store_commands("", "commitTransaction"), _store_commands("outbox", "insert")

    assert await together.dispatch_once() == 4

    assert len(set(channel.sent)) == 4
    assert _store_commands("", "commitTransaction") - commits == 2  # the claim, the outcomes
    assert _store_commands("outbox", "insert") - inserts == 1
    sent = await runtime.db["outbox"].find({"type": "notification.sent.v1"}).to_list()
    assert sorted(entry["seq"] for entry in sent) == [1, 1, 2, 2]  # each dossier's own order


class OneOutcomeCannotBeStored(NotificationStore):
    """Storing one record's outcome fails for a reason of its own (not an outage)."""

    def __init__(self, db: Any) -> None:
        super().__init__(db)
        self.bad: str | None = None

    async def settle_all(self, changes: list[StatusChange], session: Any) -> set[str]:
        self.bad = self.bad or changes[0].notification_id
        if any(change.notification_id == self.bad for change in changes):
            raise ValueError("this outcome cannot be stored")
        return await super().settle_all(changes, session)


async def test_an_outcome_that_cannot_be_stored_fails_alone_and_is_not_sent_again(
    runtime: ServiceRuntime,
) -> None:
    assert isinstance(runtime.clock, ManualClock)
    await record(runtime, ["D-bad-1", "D-bad-2"])
    store = OneOutcomeCannotBeStored(runtime.db)
    channel = RecordingChannel()
    grouped = dispatcher(runtime, channel, store=store, linger_s=30)

    assert await grouped.dispatch_once() == 4
    assert await store.count("sent") == 3  # the others were stored without it
    [bad] = await store.notifications.find({"_id": store.bad}).to_list()
    assert bad["status"] == "sending" and [a["outcome"] for a in bad["attempts"]] == ["ok"]

    runtime.clock.advance(timedelta(seconds=61))  # its claim lapses
    after = RecordingChannel()
    assert await dispatcher(runtime, after).dispatch_once() == 1
    assert after.sent == [] and len(set(channel.sent)) == 4  # finished, not sent again
    assert await store.count("sent") == 4
