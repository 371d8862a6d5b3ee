"""Test helpers shared by every service's tests: recording fakes and broker probes.

Nothing here is used at run time. Integration helpers talk to the real broker.
"""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar, cast

import httpx
from aiokafka.structs import ConsumerRecord
from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from shared.auth.identities import UnitAuth, auth_headers, bearer_token
from shared.envelope import Envelope, utc_now
from shared.kafka.admin import delete_topics
from shared.kafka.publisher import Outgoing
from shared.kafka.reading import from_beginning
from shared.mongo.client import Session, mongo_client
from shared.mongo.feed_backlog import held_id
from shared.mongo.outbox_entry import OutboxEntry
from shared.settings import KafkaSettings, MongoSettings, TelemetrySettings
from shared.telemetry.messaging import KafkaHeaders
from shared.telemetry.tracing import configure_tracing, instrument_libraries, receive_spans
from shared.topics import TopicSpec
from shared.unit_of_work import UnitOfWork

T = TypeVar("T")


def detached_unit_of_work(
    cause: Envelope | None = None, now: datetime | None = None, source: str = "/tests"
) -> UnitOfWork:
    """A unit of work with no store behind it, for handlers driven with recording stores.

    Its session is None (a recording store ignores it); what it emits is in ``emitted``.
    """
    return UnitOfWork(cast(Session, None), source=source, now=now or utc_now(), cause=cause)


@dataclass
class RecordingPublisher:
    """An in-memory publisher that keeps what was sent, in order."""

    sent: list[tuple[str, Envelope]] = field(default_factory=list)
    raw: list[tuple[str, bytes | None, bytes | None, KafkaHeaders]] = field(default_factory=list)
    fail_with: Exception | None = None
    absent: set[str] = field(default_factory=set)  # full names of topics it lacks
    asked: list[set[str]] = field(default_factory=list)  # topics_absent's questions

    async def publish(
        self, envelope: Envelope, topic: TopicSpec, headers: KafkaHeaders | None = None
    ) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        self.sent.append((topic.name, envelope))

    async def publish_batch(self, messages: Sequence[Outgoing]) -> None:
        for envelope, topic, headers in messages:
            await self.publish(envelope, topic, headers)

    async def topics_absent(self, names: set[str]) -> set[str]:
        self.asked.append(set(names))
        return names & self.absent

    async def publish_raw(
        self, topic: str, value: bytes | None, *, key: str | bytes | None, headers: KafkaHeaders
    ) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        raw_key = key.encode() if isinstance(key, str) else key
        self.raw.append((topic, raw_key, value, headers))

    def types(self) -> list[str]:
        return [envelope.type for _, envelope in self.sent]


class MemoryFeedBacklog:
    """The relay's held feed copies (``shared.mongo.feed_backlog``) in a dict."""

    def __init__(self) -> None:
        self.held: dict[str, tuple[str, OutboxEntry]] = {}

    async def units(self) -> set[str]:
        return {unit for unit, _ in self.held.values()}

    async def hold(self, copies: Sequence[tuple[str, OutboxEntry]], now: datetime) -> None:
        for unit, entry in copies:
            self.held.setdefault(held_id(unit, entry), (unit, entry))

    async def oldest(self, unit: str, limit: int) -> list[tuple[str, OutboxEntry]]:
        mine = sorted(((i, e) for i, (u, e) in self.held.items() if u == unit), key=lambda h: h[0])
        return mine[:limit]

    async def release(self, ids: Sequence[str]) -> None:
        for held in ids:
            self.held.pop(held, None)

    async def count(self) -> int:
        return len(self.held)


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def drop_isolated(kafka: KafkaSettings, mongo: MongoSettings) -> None:
    """Delete the topics and databases made for one test or benchmark run."""
    await delete_topics(kafka)
    async with mongo_client(mongo, "clean-up") as client:
        for name in await client.list_database_names():
            if name.startswith(mongo.database_prefix):
                await client.drop_database(name)


def isolated_settings() -> tuple[KafkaSettings, MongoSettings]:
    """Settings with a fresh topic prefix and database prefix, so tests never share state."""
    run = uuid.uuid4().hex[:10]
    return (
        KafkaSettings(topic_prefix=f"t{run}.", client_id=f"test-{run}"),
        MongoSettings(database_prefix=f"t{run}_"),
    )


async def eventually(
    probe: Callable[[], Awaitable[T | None]], *, timeout: float = 20.0, interval: float = 0.05
) -> T:
    """Poll ``probe`` until it returns a truthy value; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)


async def read_topic(
    kafka: KafkaSettings, spec: TopicSpec, *, expect: int, timeout: float = 20.0
) -> list[ConsumerRecord[bytes, bytes]]:
    """Read a topic from the beginning (no group) until ``expect`` records arrived.

    Returns everything that arrived by then; a short extra poll catches unexpected extras.
    """
    async with from_beginning(kafka, spec) as (consumer, _):
        records: list[ConsumerRecord[bytes, bytes]] = []
        deadline = time.monotonic() + timeout
        while len(records) < expect and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            for part in batch.values():
                records.extend(part)
        # One more short poll: a test that expects N must also see an N+1th.
        for part in (await consumer.getmany(timeout_ms=300)).values():
            records.extend(part)
        return records


def envelopes(records: list[ConsumerRecord[bytes, bytes]]) -> list[Envelope]:
    """Decode records into envelopes."""
    return [Envelope.from_bytes(r.value) for r in records]


@asynccontextmanager
async def running_app(
    app: FastAPI, auth: httpx.Auth | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """Run an app's lifespan (consumers, relay) and give an HTTP client bound to it.

    ``auth`` (e.g. ``ActAs("operations")``) gives every request a real token from the
    local Keycloak; a request's own Authorization header wins."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver", auth=auth
        ) as client:
            yield client


def capture_spans() -> InMemorySpanExporter:
    """Keep every span this process finishes from now on, in memory (for trace-shape tests).

    The global tracer provider can be set only once per process: the first call installs
    one (with the library instrumentations), later calls add their exporter to it.
    """
    exporter = InMemorySpanExporter()
    processor = SimpleSpanProcessor(exporter)
    provider = trace.get_tracer_provider()
    if isinstance(provider, TracerProvider):
        receive_spans(processor)
        instrument_libraries()
    else:
        configure_tracing(TelemetrySettings(), "tests", processor)
    return exporter


# A test client acting like the units' own systems (see shared.auth.identities.UnitAuth).
ActAs = UnitAuth
__all__ = ["ActAs", "auth_headers", "bearer_token"]
