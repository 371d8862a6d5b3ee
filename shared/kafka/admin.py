"""Create the system's topics with their partitions, retention, segment roll, replication
factor and minimum in-sync replicas (never auto-create), and bring existing ones to the
segment roll their retention needs (``ALIGNED_CONFIGS``)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import TopicAlreadyExistsError, for_code

from shared.kafka.security import PLAINTEXT, client_security
from shared.settings import KafkaSettings
from shared.topics import ALIGNED_CONFIGS, ALL_TOPICS, TopicSpec, agency_topics, topic_name

log = logging.getLogger(__name__)


async def ensure_topics(settings: KafkaSettings, specs: tuple[TopicSpec, ...] = ALL_TOPICS) -> None:
    """Create any missing topic; existing ones get the aligned configs (``segment.ms``)
    where theirs differ, everything else left as it is."""
    if not settings.create_topics:
        return  # provisioned by an administrator, with the ACLs (infra/kafka_access.py)
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.bootstrap_servers,
        client_id=f"{settings.client_id}-admin",
        request_timeout_ms=settings.request_timeout_ms,
        **client_security(settings),
    )
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        # acks=all is only as strong as the replicas that must have a record.
        durability = {"min.insync.replicas": str(settings.min_insync_replicas)}
        missing = [
            NewTopic(
                topic_name(settings.topic_prefix, spec),
                spec.partitions,
                settings.replication_factor,
                topic_configs={**spec.configs(), **durability},
            )
            for spec in specs
            if topic_name(settings.topic_prefix, spec) not in existing
        ]
        present = {
            topic_name(settings.topic_prefix, spec): spec
            for spec in specs
            if topic_name(settings.topic_prefix, spec) in existing
        }
        if present:
            await align_configs(admin, present)
        if not missing:
            return
        try:
            await admin.create_topics(missing)
        except TopicAlreadyExistsError:
            pass  # another process created them first
        await _until_led(admin, [t.name for t in missing], settings.request_timeout_ms / 1000)
        log.info("created topics", extra={"topics": [t.name for t in missing]})
    finally:
        await admin.close()


async def ensure_agency_topics(settings: KafkaSettings, units: Iterable[str]) -> None:
    """Each unit's commands topic and feed (``agency_topics``) where agency systems take
    part: on an authenticating broker (the ACLs bind each to its agency). Intake and
    routing, which emit dossier facts, make them at start, as ``ensure_topics``; on the
    local plaintext broker they are left out (the relay leaves copies to a missing feed
    out, shared/kafka/feeds.py)."""
    if settings.security_protocol == PLAINTEXT:
        return
    specs = agency_topics(sorted(units))
    if specs:
        await ensure_topics(settings, specs)


DYNAMIC_TOPIC_CONFIG = 1  # DescribeConfigs v1+: a value set on the topic itself


async def align_configs(admin: AIOKafkaAdminClient, topics: dict[str, TopicSpec]) -> list[str]:
    """Set ``ALIGNED_CONFIGS`` on existing topics whose value differs from their spec's;
    returns the topics changed. AlterConfigs (the one aiokafka has) replaces a topic's
    whole set of overrides, so the ones it has are read and sent back with ours."""
    described = await admin.describe_configs(
        [ConfigResource(ConfigResourceType.TOPIC, name) for name in topics]
    )
    changes: list[ConfigResource] = []
    for response in described:
        for error_code, error_message, _type, name, entries in response.resources:
            if error_code:
                raise for_code(error_code)(f"describing {name}: {error_message}")
            overrides = {e[0]: e[1] for e in entries if e[3] == DYNAMIC_TOPIC_CONFIG}
            wanted = {k: v for k, v in topics[name].configs().items() if k in ALIGNED_CONFIGS}
            if any(overrides.get(k) != v for k, v in wanted.items()):
                changes.append(
                    ConfigResource(ConfigResourceType.TOPIC, name, {**overrides, **wanted})
                )
    if not changes:
        return []
    for response in await admin.alter_configs(changes):
        for error_code, error_message, _type, name in response.resources:
            if error_code:
                raise for_code(error_code)(f"altering {name}: {error_message}")
    names = [c.name for c in changes]
    log.info("aligned topic configs", extra={"topics": names, "configs": list(ALIGNED_CONFIGS)})
    return names


async def _until_led(admin: AIOKafkaAdminClient, names: list[str], timeout_s: float) -> None:
    """Wait until the broker serves every partition of the new topics.

    The controller answers before the broker's metadata has them; a consumer that joins
    its group in between is assigned none of their partitions and only looks again
    after ``metadata.max.age.ms`` (five minutes).
    """
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        described = await admin.describe_topics(names)
        if all(_led(topic) for topic in described):
            return
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"topics created but not served within {timeout_s:.0f} s")
        await asyncio.sleep(0.1)


def _led(topic: dict[str, Any]) -> bool:
    partitions = topic.get("partitions") or []
    return (
        topic.get("error_code") == 0
        and all(p["leader"] >= 0 for p in partitions)
        and bool(partitions)
    )


async def delete_topics(settings: KafkaSettings) -> None:
    """Delete every topic with this environment's prefix (test clean-up; needs a prefix)."""
    if not settings.topic_prefix:
        raise ValueError("refusing to delete topics without a prefix")
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.bootstrap_servers,
        request_timeout_ms=settings.request_timeout_ms,
        **client_security(settings),
    )
    await admin.start()
    try:
        doomed = [t for t in await admin.list_topics() if t.startswith(settings.topic_prefix)]
        if doomed:
            await admin.delete_topics(doomed)
    finally:
        await admin.close()
