"""One message per recipient even across restarts, crashed senders and competing instances."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from notification.channels import OutgoingMessage
from notification.config import DispatchSettings, NotificationSettings
from notification.dispatcher import Dispatcher
from notification.domain import UnitDirectory
from notification.handlers import record_notifications
from notification.main import create_app
from notification.retry import RetryPolicy
from notification.store import NotificationStore
from notification.templates import DisplayNames, Renderer

from shared.clock import ManualClock
from shared.events.dossier import Channel
from shared.runtime import ServiceRuntime, service_runtime
from shared.testing import eventually, running_app
from tests.integration.notification.helpers import notifications, publish, sms_lines
from tests.integration.notification.servers import _Collector
from tests.unit.notification.samples import AT, contact, envelope_of, received, step_overdue

CODE = "001.21.31.H59-261126-0201"
DIRECTORY = UnitDirectory.model_validate(
    {"schema": 1, "version": "t", "default": {"email": "desk@units.example"}}
)


async def test_restart_between_recording_and_sending_sends_each_message_once(
    settings: NotificationSettings, smtp: _Collector, sms_file: Path
) -> None:
    event = envelope_of(received(CODE, contact()))
    recording_only = settings.model_copy(
        update={"dispatch": settings.dispatch.model_copy(update={"enabled": False})}
    )
    async with running_app(create_app(recording_only)) as client:
        await publish(settings, event)
        pending = await eventually(lambda: _statuses(client, CODE, {"pending"}, 2))
    assert smtp.messages == [] and sms_lines(sms_file) == []
    assert {item["channel"] for item in pending} == {"email", "sms"}

    async with running_app(create_app(settings)) as client:
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


class RecordingChannel:
    """Accepts every message and remembers which notification it carried."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send(self, message: OutgoingMessage) -> None:
        await asyncio.sleep(0)  # let a competing dispatcher run in between
        self.sent.append(message.notification_id)


@pytest.fixture
async def runtime(settings: NotificationSettings) -> AsyncIterator[ServiceRuntime]:
    clock = ManualClock(AT)
    async with service_runtime("notification", settings, clock) as rt:
        await NotificationStore(rt.db).ensure_indexes()
        yield rt


def dispatcher(rt: ServiceRuntime, channel: RecordingChannel, batch: int = 5) -> Dispatcher:
    return Dispatcher(
        store=NotificationStore(rt.db),
        channels={Channel.EMAIL: channel, Channel.SMS: channel, Channel.WEBHOOK: channel},
        renderer=Renderer(DisplayNames(), "http://lookup.example/"),
        client=rt.client,
        outbox=rt.outbox,
        wake_relay=rt.relay.wake,
        dead_letters=rt.dead_letters,
        clock=rt.clock,
        retry=RetryPolicy(max_attempts=3, initial_s=0, max_s=0, jitter_s=0),
        settings=DispatchSettings(batch_size=batch, lease_s=60),
        pause_after=3,
        topic_prefix=rt.settings.kafka.topic_prefix,
        consumer_group="tests",
    )


async def record(rt: ServiceRuntime, codes: list[str]) -> None:
    store = NotificationStore(rt.db)
    for code in codes:
        event = envelope_of(received(code, contact()))
        async with rt.unit_of_work(event) as uow:
            await record_notifications(
                received(event.subject, contact()),
                uow,
                store=store,
                directory=DIRECTORY,
                privacy_key="k",
                clock=rt.clock,
            )


async def test_two_dispatchers_never_send_the_same_notification(runtime: ServiceRuntime) -> None:
    await record(runtime, [f"D-{n}" for n in range(12)])  # email + SMS each: 24
    channel = RecordingChannel()
    first, second = dispatcher(runtime, channel), dispatcher(runtime, channel)

    while sum(await asyncio.gather(first.dispatch_once(), second.dispatch_once())):
        pass

    assert len(channel.sent) == 24 and len(set(channel.sent)) == 24
    store = NotificationStore(runtime.db)
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
        await store.add_attempt(doc["_id"], "dead", attempt, runtime.clock.now() + lease)
    runtime.clock.advance(lease + timedelta(seconds=1))
    channel = RecordingChannel()

    assert await dispatcher(runtime, channel).dispatch_once() == 2
    assert channel.sent == []
    assert await store.count("sent") == 2
