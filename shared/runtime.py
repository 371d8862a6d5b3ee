"""The parts every service runs: store client, publisher, outbox relay, consumers.

``service_runtime`` builds them from settings inside an ``async with`` (nothing at
import time) and starts the relay. A service adds its consumers and background
workers (``add_consumer``, ``add_worker``) and starts them (``start_workers``); on
exit they stop in stages (``shared.workers``): consumers first (their batch in hand
finishes and is committed), then the service's workers, then the relay, then the
connections. Every write
goes through ``unit_of_work`` (one attempt) or ``run_unit_of_work`` (retried on
transient conflicts): one transaction, its outbox entries, handed to the relay after.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.auth.settings import AuthSettings
from shared.clock import Clock, SystemClock
from shared.envelope import Envelope
from shared.handlers import HandlerRegistry
from shared.kafka.admin import ensure_topics
from shared.kafka.consumer import ConsumerRunner
from shared.kafka.deadletter import DeadLetterWriter
from shared.kafka.publisher import KafkaPublisher, kafka_publisher
from shared.kafka.security import warn_about_plaintext
from shared.mongo.client import (
    Client,
    Database,
    mongo_client,
    service_database,
    warn_about_store_credentials,
)
from shared.mongo.feed_backlog import FeedBacklog
from shared.mongo.inbox import Inbox
from shared.mongo.lease import Lease
from shared.mongo.outbox import Outbox
from shared.mongo.outbox_sequences import SubjectSequences
from shared.mongo.relay import OutboxRelay
from shared.settings import (
    ConsumerSettings,
    KafkaSettings,
    MongoSettings,
    OutboxSettings,
    TelemetrySettings,
)
from shared.telemetry.metrics import HTTP_SHED
from shared.topics import TopicSpec, topic_name
from shared.unit_of_work import UnitOfWork
from shared.units_of_work import UnitsOfWork
from shared.workers import Stage, Worker, Workers

log = logging.getLogger(__name__)
T = TypeVar("T")
CONSUMER_DEAD_LETTER_KINDS = ("malformed", "handler_failed")  # shared.kafka.applying


class CommonSettings(BaseSettings):
    """The shared components' settings, each read from its own ``LT_*`` prefix."""

    model_config = SettingsConfigDict(extra="ignore")

    kafka: KafkaSettings = Field(default_factory=KafkaSettings, description="Kafka.")
    mongo: MongoSettings = Field(default_factory=MongoSettings, description="Store.")
    consumer: ConsumerSettings = Field(default_factory=ConsumerSettings, description="Consumers.")
    outbox: OutboxSettings = Field(default_factory=OutboxSettings, description="Outbox relay.")
    telemetry: TelemetrySettings = Field(
        default_factory=TelemetrySettings, description="Telemetry."
    )
    auth: AuthSettings = Field(default_factory=AuthSettings, description="Bearer tokens.")


@dataclass
class ServiceRuntime:
    """Live connections and background work of one service instance."""

    service: str
    settings: CommonSettings
    clock: Clock
    client: Client
    db: Database
    publisher: KafkaPublisher
    outbox: Outbox
    inbox: Inbox
    relay: OutboxRelay
    dead_letters: DeadLetterWriter
    units: UnitsOfWork
    consumers: list[ConsumerRunner] = field(default_factory=list)
    workers: Workers = field(default_factory=Workers)

    def unit_of_work(
        self,
        cause: Envelope | None = None,
        *,
        correlation_id: str | None = None,
        now: datetime | None = None,
    ) -> AbstractAsyncContextManager[UnitOfWork]:
        """One transaction with its facts, committed at the end of the ``async with``."""
        return self.units.open(cause, correlation_id=correlation_id, now=now)

    async def run_unit_of_work(
        self,
        work: Callable[[UnitOfWork], Awaitable[T]],
        cause: Envelope | None = None,
        *,
        correlation_id: str | None = None,
        now: datetime | None = None,
        grouped: bool = False,
    ) -> T:
        """Run ``work`` in a unit of work, retried on transient store conflicts;
        ``grouped`` work may share its transaction under load (group commit)."""
        return await self.units.run(
            work, cause, correlation_id=correlation_id, now=now, grouped=grouped
        )

    def add_consumer(
        self,
        topics: list[TopicSpec],
        registry: HandlerRegistry,
        group_id: str | None = None,
        after_batch: Callable[[], None] | None = None,
    ) -> ConsumerRunner:
        """A consumer runner in this service's group (started by ``start_workers``).

        Handlers write through units of work (which hand their entries to the relay);
        ``after_batch``, if given, runs after each batch whose effects were stored (e.g. a
        worker that acts on what the handlers stored).
        """
        runner = ConsumerRunner(
            service=self.service,
            group_id=group_id or f"{self.settings.kafka.topic_prefix}{self.service}",
            topics=topics,
            registry=registry,
            units=self.units,
            inbox=self.inbox,
            dead_letters=self.dead_letters,
            kafka=self.settings.kafka,
            settings=self.settings.consumer,
            clock=self.clock,
            after_batch=after_batch,
        )
        self.consumers.append(runner)
        self.workers.add(runner, Stage.INTAKE)
        for spec in topics:  # what its records can be dead-lettered as: counted from 0
            name = topic_name(self.settings.kafka.topic_prefix, spec)
            self.dead_letters.expect(name, CONSUMER_DEAD_LETTER_KINDS)
        return runner

    def add_worker(self, worker: Worker, stop_s: float | None = None) -> None:
        """A background worker of the service (scheduler, checkpointer, dispatcher): it
        starts after the relay and before the consumers, and stops in the reverse order.
        ``stop_s``: how long it may take once asked to stop, when it needs longer than
        ``BACKGROUND_STOP_S`` leaves it (notification's dispatcher)."""
        self.workers.add(worker, Stage.BACKGROUND, stop_s)

    async def start_workers(self) -> None:
        """Start every worker and consumer added since the last call."""
        await self.workers.start()

    async def check_store(self) -> None:
        await self.client.admin.command("ping")

    async def check_broker(self) -> None:
        await asyncio.wait_for(self.publisher.check_connection(), timeout=3)


@asynccontextmanager
async def service_runtime(
    service: str,
    settings: CommonSettings,
    clock: Clock | None = None,
    subject_sequences: Callable[[Database], SubjectSequences] | None = None,
) -> AsyncIterator[ServiceRuntime]:
    """Connect, create topics and indexes, run the outbox relay; tear down in order.

    ``subject_sequences``: where the service keeps its subjects' outbox sequences, when
    not in counters of their own (routing keeps them on its dossier documents).
    """
    clock = clock or SystemClock()
    warn_about_store_credentials(settings.mongo, service)
    warn_about_plaintext(settings.kafka, service)
    await ensure_topics(settings.kafka)
    async with (
        mongo_client(settings.mongo, service) as client,
        kafka_publisher(settings.kafka, service) as publisher,
    ):
        db = service_database(client, settings.mongo, service)
        outbox = Outbox(db, subject_sequences(db) if subject_sequences else None)
        inbox = Inbox(db)
        feed_backlog = FeedBacklog(db)
        await outbox.ensure_indexes()
        await inbox.ensure_indexes()
        await feed_backlog.ensure_indexes()
        dead_letters = DeadLetterWriter(publisher, settings.kafka, clock, service)
        HTTP_SHED.labels(service)  # a sample at 0 from the start, for the alert's increase()
        relay = OutboxRelay(
            outbox,
            Lease(db, "outbox-relay"),
            publisher,
            settings.outbox,
            clock,
            service,
            dead_letters,
            feed_backlog,
            settings.kafka.topic_prefix,
        )
        runtime = ServiceRuntime(
            service=service,
            settings=settings,
            clock=clock,
            client=client,
            db=db,
            publisher=publisher,
            outbox=outbox,
            inbox=inbox,
            relay=relay,
            dead_letters=dead_letters,
            units=UnitsOfWork(
                client=client,
                outbox=outbox,
                clock=clock,
                service=service,
                on_commit=relay.hand_over,
                timeout_s=settings.mongo.transaction_timeout_s,
                group_transactions=settings.mongo.group_commit_transactions,
                group_size=settings.mongo.group_commit_size,
            ),
        )
        runtime.workers.add(relay, Stage.DELIVERY)
        await runtime.start_workers()
        try:
            yield runtime
        finally:
            await _shut_down(runtime)


# The stop budget (README "Stopping"): background work finishes its batch within
# BACKGROUND_STOP_S (a worker added with a ``stop_s`` of its own, within that), then each
# consumer commits and leaves its group, and the producer flushes, within LEAVE_S each,
# even with the broker gone. With HTTP's 5 s and notification's dispatcher (its own
# LT_NOTIFICATION_DISPATCH_STOP_BUDGET_S), a service stops within compose's 30 s.
BACKGROUND_STOP_S = 8.0
LEAVE_S = 4.0


async def _shut_down(runtime: ServiceRuntime) -> None:
    await runtime.workers.stop(BACKGROUND_STOP_S, LEAVE_S)
