"""The Kafka publisher: idempotent producer, ``acks=all``, dossier code as key,
trace context and CloudEvents attributes in headers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Protocol

from aiokafka import AIOKafkaProducer
from aiokafka.errors import (
    CorruptRecordException,
    InvalidProducerEpoch,
    InvalidTimestampError,
    InvalidTopicError,
    MessageSizeTooLargeError,
    OutOfOrderSequenceNumber,
    ProducerFenced,
    RecordListTooLargeError,
    RecordTooLargeError,
    UnknownProducerId,
)
from aiokafka.structs import RecordMetadata
from opentelemetry import trace

from shared.envelope import Envelope
from shared.kafka.security import client_security
from shared.settings import KafkaSettings
from shared.telemetry.messaging import (
    KafkaHeaders,
    extract_trace_context,
    header_value,
    messaging_attributes,
    replace_trace_headers,
)
from shared.telemetry.metrics import EVENTS_PUBLISHED, event_type_label
from shared.topics import AGENCY_EVENTS_PREFIX, TopicSpec, topic_name

log = logging.getLogger(__name__)
STOP_S = 4.0
tracer = trace.get_tracer(__name__)

Outgoing = tuple[Envelope, TopicSpec, KafkaHeaders]
"""An envelope, its topic and extra headers (e.g. the trace context it was written in)."""


# Refusals of the record itself: sending it again can never succeed (unlike an outage).
REFUSALS = (
    MessageSizeTooLargeError,
    RecordTooLargeError,
    RecordListTooLargeError,
    CorruptRecordException,
    InvalidTimestampError,
    InvalidTopicError,
)


# The idempotent producer's state no longer matches the broker's (e.g. a broker that lost
# its producer state while it was down): this producer will never succeed again.
PRODUCER_STATE_LOST = (
    OutOfOrderSequenceNumber,
    UnknownProducerId,
    InvalidProducerEpoch,
    ProducerFenced,
)


def refused_by_broker(error: BaseException) -> bool:
    """True when the broker (or the producer's own limits) refuses the record itself."""
    return isinstance(error, REFUSALS)


class Publisher(Protocol):
    """Anything that can put envelopes on topics (Kafka, or a recording fake in tests)."""

    async def publish(
        self, envelope: Envelope, topic: TopicSpec, headers: KafkaHeaders | None = None
    ) -> None: ...

    async def publish_batch(self, messages: Sequence[Outgoing]) -> None: ...

    async def topics_absent(self, names: set[str]) -> set[str]:
        """Which of these full topic names the broker does not have."""
        ...


def topic_label(topic: TopicSpec) -> str:
    """A metric label for a topic: the agencies' feeds as one, not one series per unit."""
    if topic.name.startswith(AGENCY_EVENTS_PREFIX):
        return f"{AGENCY_EVENTS_PREFIX}<unit>"
    return topic.name


def envelope_headers(envelope: Envelope) -> KafkaHeaders:
    """CloudEvents binary-mode attribute headers, so brokers' tools can filter without parsing."""
    return [
        ("ce_id", envelope.id.encode()),
        ("ce_type", envelope.type.encode()),
        ("ce_source", envelope.source.encode()),
        ("ce_correlationid", envelope.correlationid.encode()),
        ("content-type", b"application/cloudevents+json"),
    ]


class KafkaPublisher:
    """Publishes envelopes with per-dossier ordering (key = subject)."""

    def __init__(
        self,
        producer: AIOKafkaProducer,
        settings: KafkaSettings,
        service: str,
        rebuild: Callable[[], AIOKafkaProducer] | None = None,
    ) -> None:
        self._producer = producer
        self._rebuild = rebuild
        self._renewing = asyncio.Lock()
        self._settings = settings
        self._service = service

    async def publish(
        self, envelope: Envelope, topic: TopicSpec, headers: KafkaHeaders | None = None
    ) -> None:
        """Send and wait for the broker's acknowledgement from all in-sync replicas."""
        await self.publish_batch([(envelope, topic, headers or [])])

    async def publish_batch(self, messages: Sequence[Outgoing]) -> None:
        """Send in order without waiting between messages, then wait for every ack.

        The idempotent producer keeps per-partition order across its retries; if any
        message fails this raises, and the caller sends the batch again (consumers
        deduplicate by event id).
        """
        producer = self._producer
        try:
            await self._send_all(producer, messages)
        except PRODUCER_STATE_LOST:
            await self._renew(producer)
            raise  # the caller sends the batch again, with the new producer
        for envelope, topic, _ in messages:
            label = event_type_label(envelope.type)
            EVENTS_PUBLISHED.labels(self._service, topic_label(topic), label).inc()

    async def topics_absent(self, names: set[str]) -> set[str]:
        """One metadata request for every topic (those this principal may describe)."""
        metadata = await self._producer.client.fetch_all_metadata()
        return names - set(metadata.topics())

    async def _send_all(self, producer: AIOKafkaProducer, messages: Sequence[Outgoing]) -> None:
        """Send each message; one that repeats the envelope of the message before it (a
        record's copy to an agency feed, shared/kafka/feeds.py) goes out as the very same
        record, bytes, key and headers, with no serialising and no span of its own."""
        acks = []
        previous: Envelope | None = None
        value, key = b"", b""
        sent_headers: KafkaHeaders = []
        for envelope, topic, headers in messages:
            name = topic_name(self._settings.topic_prefix, topic)
            if envelope is previous:
                # A feed has one partition: no key to hash for it (aiokafka's partitioner
                # is a tenth of a record's cost).
                partition = 0 if topic.partitions == 1 else None
                acks.append(
                    await producer.send(
                        name, value, key=key, partition=partition, headers=sent_headers
                    )
                )
                continue
            previous = envelope
            # A PRODUCER span "send <topic>" in the trace the event was written in (the
            # outbox keeps it); consumers continue from this span's traceparent.
            parent = (
                extract_trace_context(headers) if header_value(headers, "traceparent") else None
            )
            with tracer.start_as_current_span(
                f"send {name}", context=parent, kind=trace.SpanKind.PRODUCER
            ) as span:
                if span.is_recording():  # attributes of a span nobody receives: not built
                    span.set_attributes(
                        messaging_attributes(
                            operation="send",
                            topic=name,
                            message_id=envelope.id,
                            key=envelope.subject,
                            event_type=envelope.type,
                        )
                    )
                value, key = envelope.to_bytes(), envelope.subject.encode()
                sent_headers = replace_trace_headers(envelope_headers(envelope) + headers)
                acks.append(await producer.send(name, value, key=key, headers=sent_headers))
        await asyncio.gather(*acks)

    async def _renew(self, broken: AIOKafkaProducer) -> None:
        """Replace a producer whose idempotence state the broker no longer accepts."""
        if self._rebuild is None:
            return
        async with self._renewing:
            if self._producer is not broken:
                return  # renewed by a concurrent caller already
            fresh = self._rebuild()
            await fresh.start()
            self._producer = fresh
        log.warning("producer state lost at the broker: started a new producer")
        with contextlib.suppress(Exception):
            await asyncio.wait_for(broken.stop(), timeout=STOP_S)

    async def close(self) -> None:
        """Stop the producer, bounded: with the broker gone, unsent records stay in the outbox."""
        try:
            await asyncio.wait_for(self._producer.stop(), timeout=STOP_S)
        except TimeoutError:
            log.warning("producer stopped without flushing: the broker did not answer")

    async def check_connection(self) -> None:
        """Raise unless the brokers answer a metadata request."""
        if not await self._producer.client.fetch_all_metadata():
            raise ConnectionError("no broker metadata")

    async def publish_raw(
        self, topic: str, value: bytes | None, *, key: str | bytes | None, headers: KafkaHeaders
    ) -> RecordMetadata:
        """Send bytes as they are (dead letters and replays keep the original payload)."""
        raw_key = key.encode() if isinstance(key, str) else key
        producer = self._producer
        try:
            return await producer.send_and_wait(topic, value, key=raw_key, headers=headers)
        except PRODUCER_STATE_LOST:
            await self._renew(producer)
            raise


def build_producer(settings: KafkaSettings, service: str) -> AIOKafkaProducer:
    """An idempotent producer that waits for all in-sync replicas."""
    return AIOKafkaProducer(
        bootstrap_servers=settings.bootstrap_servers,
        client_id=f"{settings.client_id}-{service}",
        acks="all",
        enable_idempotence=True,
        request_timeout_ms=settings.request_timeout_ms,
        linger_ms=settings.linger_ms,
        compression_type=None,
        **client_security(settings),
    )


@asynccontextmanager
async def kafka_publisher(settings: KafkaSettings, service: str) -> AsyncIterator[KafkaPublisher]:
    """Start a producer for the duration of the block."""
    producer = build_producer(settings, service)
    await producer.start()
    publisher = KafkaPublisher(
        producer, settings, service, rebuild=lambda: build_producer(settings, service)
    )
    try:
        yield publisher
    finally:
        await publisher.close()
