"""Helpers for routing's integration tests: settings, publishing, reading what routing said."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from fastapi import FastAPI
from routing.config import RoutingOptions, RoutingSettings
from routing.main import create_app

from shared.clock import ManualClock
from shared.envelope import Envelope
from shared.events.commands import UnitCommand
from shared.events.registry import EventData, make_envelope
from shared.kafka.publisher import KafkaPublisher, kafka_publisher
from shared.kafka.security import client_security
from shared.runtime import CommonSettings
from shared.settings import KafkaSettings
from shared.testing import ActAs, eventually, running_app
from shared.topics import DOSSIER_EVENTS, TopicSpec, topic_name
from tests.unit.routing.builders import MONDAY_9AM, received

ROUTING_SOURCE = "/lienthong/routing"


def routing_settings(
    common: CommonSettings, scan_s: float = 0.05, due_soon_days: int = 0
) -> RoutingSettings:
    """Routing settings for a test. Due-soon reminders are off unless asked for: the
    scheduler scans every few milliseconds, and a reminder raised while a test drives
    a journey would interleave with the events it checks in order."""
    options = RoutingOptions(overdue_scan_seconds=scan_s, due_soon_working_days=due_soon_days)
    return RoutingSettings(**common.model_dump(), routing=options)


@asynccontextmanager
async def routing_app(
    settings: RoutingSettings, clock: ManualClock
) -> AsyncIterator[tuple[httpx.AsyncClient, FastAPI]]:
    app = create_app(settings, clock)
    async with running_app(app, ActAs("operations")) as client:
        yield client, app


@asynccontextmanager
async def quiet_routing(
    common: CommonSettings,
) -> AsyncIterator[tuple[httpx.AsyncClient, FastAPI, KafkaPublisher]]:
    """Routing on Monday 9 am with no deadline scan meanwhile (every 30 s): its client,
    its app and a publisher on its broker."""
    settings = routing_settings(common, scan_s=30)
    async with (
        routing_app(settings, ManualClock(MONDAY_9AM)) as (client, app),
        publisher(settings.kafka) as pub,
    ):
        yield client, app, pub


@asynccontextmanager
async def publisher(kafka: KafkaSettings) -> AsyncIterator[KafkaPublisher]:
    async with kafka_publisher(kafka, "tests") as pub:
        yield pub


async def send(pub: KafkaPublisher, data: EventData, source: str = "/tests") -> Envelope:
    envelope = make_envelope(data, source=source)
    await pub.publish(envelope, data.TOPIC)
    return envelope


async def receive(
    pub: KafkaPublisher, client: httpx.AsyncClient, code: str, at: datetime = MONDAY_9AM
) -> Envelope:
    """Publish a dossier.received.v2 as intake would and wait until routing planned it."""
    envelope = await send(pub, received(code, at=at), source="/lienthong/intake")
    await wait_for(client, code, "PROCESSING")
    return envelope


async def command(pub: KafkaPublisher, cmd: UnitCommand) -> Envelope:
    return await send(pub, cmd, source="/agency/tests")


async def wait_for(client: httpx.AsyncClient, code: str, state: str, **fields: Any) -> Any:
    """Poll GET /v1/dossiers/{code} until it is in ``state`` (and has ``fields``)."""

    async def probe() -> Any:
        response = await client.get(f"/v1/dossiers/{code}")
        if response.status_code != 200:
            return None
        body = response.json()
        if body["state"] == state and all(body.get(k) == v for k, v in fields.items()):
            return body
        return None

    return await eventually(probe)


async def read_events(
    kafka: KafkaSettings,
    code: str,
    *,
    expect: int,
    source: str = ROUTING_SOURCE,
    spec: TopicSpec = DOSSIER_EVENTS,
    timeout: float = 20.0,
) -> list[Envelope]:
    """Envelopes about ``code`` from ``source`` on a topic, in order, once ``expect`` arrived
    (as ``kafka``'s principal on a secured broker).

    A short extra poll afterwards catches any unexpected extra event.
    """
    consumer = AIOKafkaConsumer(
        bootstrap_servers=kafka.bootstrap_servers,
        enable_auto_commit=False,
        isolation_level="read_committed",
        **client_security(kafka),
    )
    await consumer.start()
    found: list[Envelope] = []
    try:
        topic = topic_name(kafka.topic_prefix, spec)
        tps = [TopicPartition(topic, p) for p in range(spec.partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        deadline = time.monotonic() + timeout
        extra_poll = False
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=300 if extra_poll else 200)
            for records in batch.values():
                for record in records:
                    envelope = Envelope.from_bytes(record.value)
                    if envelope.subject == code and envelope.source == source:
                        found.append(envelope)
            if extra_poll:
                break
            extra_poll = len(found) >= expect
        return found
    finally:
        await consumer.stop()


def types(events: list[Envelope]) -> list[str]:
    return [e.type for e in events]
