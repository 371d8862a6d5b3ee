"""Raw rates of the broker and the store, measured in the same run as the system's.

The broker: the services' own producer settings (idempotent, ``acks=all``, linger 5 ms)
and consumer settings (read committed, same poll size), messages of the size the run's
events had, keyed over as many keys as partitions. The store: single inserts, one-insert
and two-write transactions one after another (as an HTTP action or a consumer does
today), and batches of 100 documents in one transaction. The system's figures are
reported as ratios of these.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from dataclasses import asdict, dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from shared.kafka.admin import ensure_topics
from shared.kafka.publisher import build_producer
from shared.mongo.client import Session, mongo_client, run_in_transaction
from shared.settings import ConsumerSettings, KafkaSettings, MongoSettings
from shared.topics import DOSSIER_EVENTS, TopicSpec, topic_name

RAW_TOPIC = TopicSpec("bench.raw", DOSSIER_EVENTS.partitions, 3_600_000, "raw broker rate")


@dataclass
class RawRates:
    """Per second, measured on this machine at this moment."""

    message_bytes: int
    broker_produce_msgs: float
    broker_consume_msgs: float
    store_insert_one: float
    store_txn_one_write: float
    store_txn_two_writes: float
    store_batch_docs: float
    batch_size: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


async def broker_rates(kafka: KafkaSettings, size: int, count: int) -> tuple[float, float]:
    """Messages per second produced (all acknowledged) and consumed back."""
    await ensure_topics(kafka, (RAW_TOPIC,))
    topic = topic_name(kafka.topic_prefix, RAW_TOPIC)
    producer = build_producer(kafka, "bench-raw")
    await producer.start()
    payload = os.urandom(size // 2).hex().encode()[:size]
    try:
        # A new topic's partitions need their leaders first: not part of the rate.
        for partition in range(RAW_TOPIC.partitions):
            await producer.send_and_wait(topic, payload, partition=partition)
        started = time.perf_counter()
        acks = [
            await producer.send(topic, payload, key=f"KEY-{i % 64}".encode()) for i in range(count)
        ]
        await asyncio.gather(*acks)
        produced = count / (time.perf_counter() - started)
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        bootstrap_servers=kafka.bootstrap_servers,
        enable_auto_commit=False,
        isolation_level="read_committed",
        max_poll_records=ConsumerSettings().max_poll_records,
    )
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(RAW_TOPIC.partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        received, started = 0, time.perf_counter()
        count += RAW_TOPIC.partitions  # the warm-up messages
        while received < count and time.perf_counter() - started < 120:
            batch = await consumer.getmany(timeout_ms=500)
            received += sum(len(records) for records in batch.values())
        consumed = received / (time.perf_counter() - started)
    finally:
        await consumer.stop()
    return produced, consumed


def _doc(size: int) -> dict[str, Any]:
    return {"_id": uuid.uuid4().hex, "status": "pending", "body": "x" * size}


async def store_rates(mongo: MongoSettings, size: int, count: int, batch: int) -> dict[str, float]:
    """Writes per second: single inserts, small transactions, and batched transactions."""
    name = f"{mongo.database_prefix}raw"
    rates: dict[str, float] = {}
    async with mongo_client(mongo, "bench-raw") as client:
        db = client[name]
        await db["docs"].insert_one(_doc(size))  # create the collection outside a transaction
        await db["counters"].insert_one({"_id": "c", "value": 0})
        try:
            started = time.perf_counter()
            for _ in range(count):
                await db["docs"].insert_one(_doc(size))
            rates["insert_one"] = count / (time.perf_counter() - started)

            async def one(session: Session) -> None:
                await db["docs"].insert_one(_doc(size), session=session)

            async def two(session: Session) -> None:
                await db["counters"].update_one(
                    {"_id": "c"}, {"$inc": {"value": 1}}, session=session
                )
                await db["docs"].insert_one(_doc(size), session=session)

            for label, work in (("txn_one_write", one), ("txn_two_writes", two)):
                started = time.perf_counter()
                for _ in range(count // 2):
                    await run_in_transaction(client, work)
                rates[label] = (count // 2) / (time.perf_counter() - started)

            async def many(session: Session) -> None:
                await db["docs"].insert_many([_doc(size) for _ in range(batch)], session=session)

            rounds = max(count // batch, 3)
            started = time.perf_counter()
            for _ in range(rounds):
                await run_in_transaction(client, many)
            rates["batch_docs"] = rounds * batch / (time.perf_counter() - started)
        finally:
            await client.drop_database(name)
    return rates


async def measure(
    kafka: KafkaSettings, mongo: MongoSettings, size: int, count: int, batch: int = 100
) -> RawRates:
    produced, consumed = await broker_rates(kafka, size, count * 4)
    store = await store_rates(mongo, size, count, batch)
    return RawRates(
        message_bytes=size,
        broker_produce_msgs=produced,
        broker_consume_msgs=consumed,
        store_insert_one=store["insert_one"],
        store_txn_one_write=store["txn_one_write"],
        store_txn_two_writes=store["txn_two_writes"],
        store_batch_docs=store["batch_docs"],
        batch_size=batch,
    )
