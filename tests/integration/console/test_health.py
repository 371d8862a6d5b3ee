"""The health page's consumer lag, against the real broker: every topic a watched group
has committed offsets on shows its lag, on every partition of the topic.

Routing's group has committed on dossier.events; notification's on dossier.events,
applicant.contacts, notification.events and operations.events; audit's on
notification.events and operations.events. Looking the topics up in a consumer's own
metadata once showed only dossier.events (the one topic an earlier look-up had loaded).
"""

from __future__ import annotations

from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import OffsetAndMetadata
from console.config import ConsoleSettings
from console.main import create_app

from shared.runtime import CommonSettings
from shared.settings import KafkaSettings
from shared.testing import ActAs, running_app
from shared.topics import (
    APPLICANT_CONTACTS,
    DOSSIER_EVENTS,
    NOTIFICATION_EVENTS,
    OPERATIONS_EVENTS,
    TopicSpec,
    topic_name,
)

# Records written to partition 0 of each topic, and how far each group has committed.
WRITTEN, COMMITTED = 5, 2
GROUPS: dict[str, tuple[TopicSpec, ...]] = {
    "routing": (DOSSIER_EVENTS,),
    "notification": (DOSSIER_EVENTS, APPLICANT_CONTACTS, NOTIFICATION_EVENTS, OPERATIONS_EVENTS),
    "audit": (NOTIFICATION_EVENTS, OPERATIONS_EVENTS),
}


async def write(kafka: KafkaSettings, topics: Iterable[str]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap_servers)
    await producer.start()
    try:
        for topic in topics:
            for _ in range(WRITTEN):
                await producer.send_and_wait(topic, b"{}", partition=0)
    finally:
        await producer.stop()


async def commit(kafka: KafkaSettings, group: str, topics: Iterable[str]) -> None:
    """The group's committed offset on partition 0 of each topic, as its consumer would."""
    partitions = [TopicPartition(topic, 0) for topic in topics]
    consumer = AIOKafkaConsumer(
        bootstrap_servers=kafka.bootstrap_servers, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.commit({tp: OffsetAndMetadata(COMMITTED, "") for tp in partitions})
    finally:
        await consumer.stop()


async def test_every_topic_a_group_committed_on_shows_its_lag(
    common_settings: CommonSettings,
) -> None:
    kafka = common_settings.kafka
    name = {
        spec: topic_name(kafka.topic_prefix, spec) for specs in GROUPS.values() for spec in specs
    }
    await write(kafka, name.values())
    # Routing first: the order in which the console looked groups up hid the others' topics.
    for service, specs in GROUPS.items():
        await commit(kafka, f"{kafka.topic_prefix}{service}", [name[spec] for spec in specs])

    settings = ConsoleSettings(**common_settings.model_dump())
    async with running_app(create_app(settings), ActAs("operations")) as desk:
        answer = await desk.get("/api/health")
    assert answer.status_code == 200, answer.text
    rows = answer.json()["lag"]

    shown = {(row["group"], row["topic"]) for row in rows}
    assert shown == {(service, name[spec]) for service, specs in GROUPS.items() for spec in specs}
    lagging = {
        (row["group"], row["topic"]): (row["committed"], row["end"], row["lag"])
        for row in rows
        if row["partition"] == 0
    }
    assert set(lagging.values()) == {(COMMITTED, WRITTEN, WRITTEN - COMMITTED)}
    # Every partition of each topic, those the group has no offset on too (nothing written).
    for service, specs in GROUPS.items():
        for spec in specs:
            partitions = sorted(
                row["partition"]
                for row in rows
                if (row["group"], row["topic"]) == (service, name[spec])
            )
            assert partitions == list(range(spec.partitions))
    assert all(row["lag"] == 0 for row in rows if row["partition"] != 0)
