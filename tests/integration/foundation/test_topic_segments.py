"""Topics roll their segments often enough that data does not outlive its retention by
more than a day (or a seventh of it): set when topics are created, and brought to it on
existing topics, by the services' set-up (aiokafka) and by the provisioning tool
(confluent-kafka), against the real broker."""

from __future__ import annotations

from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from confluent_kafka.admin import AdminClient

from infra.kafka_access import provision_topics
from shared.kafka.admin import ensure_topics
from shared.settings import KafkaSettings
from shared.testing import drop_isolated, eventually, isolated_settings
from shared.topics import (
    ALL_TOPICS,
    APPLICANT_CONTACTS,
    DAY_MS,
    DEAD_LETTERS,
    DOSSIER_EVENTS,
    agency_commands,
    topic_name,
)


async def overrides(kafka: KafkaSettings, name: str) -> dict[str, str] | None:
    """The configs set on the topic itself (None until the broker describes it)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap_servers)
    await admin.start()
    try:
        [response] = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name)])
        [(error, _message, _type, _name, entries)] = response.resources
        return None if error else {e[0]: e[1] for e in entries if e[3] == 1}
    finally:
        await admin.close()


async def old_topic(kafka: KafkaSettings, name: str, configs: dict[str, str]) -> None:
    """A topic as an earlier version created it: retention, no segment roll of its own."""
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap_servers)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, 1, 1, topic_configs=configs)])
    finally:
        await admin.close()


def test_segments_roll_within_a_day_or_a_seventh_of_the_retention() -> None:
    assert APPLICANT_CONTACTS.configs()["segment.ms"] == str(DAY_MS)  # 7 days: 8 at most
    assert agency_commands("x").segment_ms == DAY_MS
    for spec in ALL_TOPICS:
        assert spec.segment_ms <= min(spec.retention_ms // 7, DAY_MS)


async def test_topics_are_created_with_their_segment_roll_and_old_ones_brought_to_it() -> None:
    kafka, mongo = isolated_settings()
    contacts = topic_name(kafka.topic_prefix, APPLICANT_CONTACTS)
    kept = {"retention.ms": str(APPLICANT_CONTACTS.retention_ms), "cleanup.policy": "delete"}
    kept["min.insync.replicas"] = "1"
    kept["max.message.bytes"] = "500000"  # an administrator's own override
    try:
        await old_topic(kafka, contacts, kept)
        old: dict[str, str] | None = await eventually(lambda: overrides(kafka, contacts))
        assert old is not None and "segment.ms" not in old

        await ensure_topics(kafka)

        aligned = await eventually(lambda: _with_segment(kafka, contacts))
        assert aligned == {**kept, "segment.ms": str(DAY_MS)}  # nothing else changed
        events = await eventually(
            lambda: _with_segment(kafka, topic_name(kafka.topic_prefix, DOSSIER_EVENTS))
        )
        assert events["segment.ms"] == str(DAY_MS)
        assert events["retention.ms"] == str(DOSSIER_EVENTS.retention_ms)
    finally:
        await drop_isolated(kafka, mongo)


async def test_the_provisioning_tool_sets_the_segment_roll_on_existing_topics() -> None:
    kafka, mongo = isolated_settings()
    letters = topic_name(kafka.topic_prefix, DEAD_LETTERS)
    kept = {"retention.ms": str(DEAD_LETTERS.retention_ms), "max.message.bytes": "500000"}
    try:
        await old_topic(kafka, letters, kept)
        await eventually(lambda: overrides(kafka, letters))
        admin = AdminClient({"bootstrap.servers": kafka.bootstrap_servers})
        specs = [DEAD_LETTERS, APPLICANT_CONTACTS]
        assert provision_topics(admin, kafka.topic_prefix, specs) == [letters]
        aligned = await eventually(lambda: _with_segment(kafka, letters))
        assert aligned == {**kept, "segment.ms": str(DAY_MS)}
        created = await eventually(
            lambda: _with_segment(kafka, topic_name(kafka.topic_prefix, APPLICANT_CONTACTS))
        )
        assert created["segment.ms"] == str(DAY_MS)
    finally:
        await drop_isolated(kafka, mongo)


async def _with_segment(kafka: KafkaSettings, name: str) -> dict[str, Any] | None:
    found = await overrides(kafka, name)
    return found if found and "segment.ms" in found else None
