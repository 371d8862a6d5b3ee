"""Reading what a topic retains, from its beginning to where it ends now (no group).

For tools and checks that look at a topic without consuming it: the dead-letter list,
the fault matrix. Nothing is committed, and records written meanwhile are not waited for.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord

from shared.kafka.security import client_security
from shared.settings import KafkaSettings
from shared.topics import TopicSpec, topic_name


@asynccontextmanager
async def from_beginning(
    kafka: KafkaSettings, spec: TopicSpec
) -> AsyncIterator[tuple[AIOKafkaConsumer, list[TopicPartition]]]:
    """A consumer with no group, at the beginning of every partition of ``spec``'s topic;
    stopped when the block ends."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=kafka.bootstrap_servers,
        enable_auto_commit=False,
        isolation_level="read_committed",
        **client_security(kafka),
    )
    try:  # a consumer that fails to start is stopped too (no "Unclosed AIOKafkaConsumer")
        await consumer.start()
        topic = topic_name(kafka.topic_prefix, spec)
        tps = [TopicPartition(topic, p) for p in range(spec.partitions)]
        consumer.assign(tps)
        # One wait for the broker, not two: seek_to_beginning waits for the offsets on its
        # own and then end_offsets again, so a client that may not see the topic (the
        # broker answers its metadata with an authorization error, which aiokafka retries
        # until the request timeout) waited twice 40 s before being told.
        starts = await consumer.beginning_offsets(tps)
        for tp in tps:
            consumer.seek(tp, starts[tp])
        yield consumer, tps
    finally:
        await consumer.stop()


async def read_retained(
    kafka: KafkaSettings, spec: TopicSpec, limit: int | None = None
) -> list[ConsumerRecord[bytes, bytes]]:
    """Every retained record of ``spec``'s topic (at most ``limit``), oldest first per
    partition, up to each partition's end offset when called."""
    async with from_beginning(kafka, spec) as (consumer, tps):
        ends = await consumer.end_offsets(tps)
        records: list[ConsumerRecord[bytes, bytes]] = []
        while (limit is None or len(records) < limit) and await _behind(consumer, ends):
            for batch in (await consumer.getmany(timeout_ms=1000)).values():
                records.extend(batch)
        return records if limit is None else records[:limit]


async def _behind(consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> bool:
    for tp, end in ends.items():
        if await consumer.position(tp) < end:
            return True
    return False
