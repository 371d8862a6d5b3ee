"""Helpers for the dispatcher's integration tests: a recording channel, a dispatcher
with small settings, and records written as the consumer's handler writes them."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from notification.channels import OutgoingMessage
from notification.config import DispatchSettings
from notification.dispatcher import Dispatcher
from notification.domain import UnitDirectory
from notification.handlers import Claims, Planning, record_notifications
from notification.retry import RetryPolicy, Sleep
from notification.store import NotificationStore
from notification.templates import DisplayNames, Renderer

from shared.events.dossier import Channel
from shared.runtime import ServiceRuntime
from tests.samples import contact, envelope_of, received, registered

DIRECTORY = UnitDirectory.model_validate(
    {"schema": 1, "version": "t", "default": {"email": "desk@units.example"}}
)


class RecordingChannel:
    """Accepts every message and remembers which notification it carried."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send(self, message: OutgoingMessage) -> None:
        await asyncio.sleep(0)  # let a competing dispatcher run in between
        self.sent.append(message.notification_id)


class HangingChannel(RecordingChannel):
    """A receiver that takes its time: the delivery stays in hand until released."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()

    async def send(self, message: OutgoingMessage) -> None:
        await self.release.wait()
        await super().send(message)


def dispatcher(
    rt: ServiceRuntime,
    channel: RecordingChannel,
    batch: int = 5,
    instance: str = "tests",
    lease_s: float = 60,
    store: NotificationStore | None = None,
    grace_s: float = 5,
    linger_s: float = 0.02,
    budget_s: float = 10,
    held_check_s: float = 10,
    sleep: Sleep = asyncio.sleep,
) -> Dispatcher:
    return Dispatcher(
        store=store or NotificationStore(rt.db),
        channels={Channel.EMAIL: channel, Channel.SMS: channel, Channel.WEBHOOK: channel},
        renderer=Renderer(DisplayNames(), "http://lookup.example/"),
        units=rt.units,
        dead_letters=rt.dead_letters,
        clock=rt.clock,
        retry=RetryPolicy(max_attempts=3, initial_s=0, max_s=0, jitter_s=0),
        settings=DispatchSettings(
            batch_size=batch,
            lease_s=lease_s,
            poll_interval_s=0.05,
            shutdown_grace_s=grace_s,
            stop_budget_s=budget_s,
            held_check_interval_s=held_check_s,
            settle_linger_s=linger_s,
        ),
        pause_after=3,
        topic_prefix=rt.settings.kafka.topic_prefix,
        consumer_group="tests",
        instance=instance,
        sleep=sleep,
    )


def planning(rt: ServiceRuntime, claims: Claims | None = None) -> Planning:
    """The handlers' dependencies; records to send are claimed when ``claims`` issues them."""
    return Planning(
        store=NotificationStore(rt.db),
        directory=DIRECTORY,
        privacy_key="k",
        clock=rt.clock,
        # Expiry is counted from the manual clock (AT), and the store's TTL monitor deletes
        # by the real one: a short retention let it delete records mid-test.
        personal_data_retention=timedelta(days=3650),
        claims=claims,
    )


async def record(rt: ServiceRuntime, codes: list[str], claims: Claims | None = None) -> None:
    """Each dossier's contact and reception, handled as the consumer does (email and SMS
    each), the records claimed for a dispatcher when ``claims`` issues them."""
    for code in codes:
        for data in (registered(code, contact()), received(code)):
            event = envelope_of(data)
            async with rt.unit_of_work(event) as uow:
                await record_notifications([(event, data)], uow, planning=planning(rt, claims))
