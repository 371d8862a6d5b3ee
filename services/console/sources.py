"""Where the console reads: the services' HTTP APIs and Kafka (never another service's code).

``Services`` asks each service's read views, readiness and metrics over HTTP;
``KafkaViews`` reads consumer groups' committed offsets against the partitions' ends,
and the retained dead letters.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import UnknownTopicOrPartitionError

from console.config import WATCHED, ConsoleOptions
from console.domain import (
    OutboxFigures,
    PartitionLag,
    lag_partitions,
    outbox_figures,
    partition_lag,
)
from shared.http import NotFound
from shared.kafka.deadletter import DeadLetter, read_dead_letters
from shared.kafka.security import client_security
from shared.settings import KafkaSettings

# The most dead letters the Dead letters and Health pages read (a flood of them would
# make every refresh read the whole topic); deadletter_cli lists them all.
PAGE_LETTERS = 1000


def path_segment(value: str) -> str:
    """``value`` as one segment of a service's URL path. Everything but unreserved
    characters is encoded ("/" "?" "#" "%" would end or move it), and so are the dots of
    "." and "..", which URL clients resolve (``/v1/dossiers/..`` would ask ``/v1/``)."""
    if value in (".", ".."):
        return value.replace(".", "%2E")
    return quote(value, safe="")


class ServiceUnavailable(Exception):
    """A service did not answer (shown on the page, not raised to the browser as a 500)."""

    def __init__(self, service: str, detail: str) -> None:
        super().__init__(detail)
        self.service = service


class Services:
    """Read-only HTTP calls to the platform's services."""

    def __init__(self, http: httpx.AsyncClient, options: ConsoleOptions) -> None:
        self._http = http
        self._options = options

    def url(self, service: str, path: str) -> str:
        return f"{self._options.url_of(service)}{path}"

    async def get(self, service: str, path: str, params: dict[str, Any] | None = None) -> Any:
        """A service's JSON answer; ``NotFound`` for 404, ``ServiceUnavailable`` otherwise."""
        try:
            response = await self._http.get(self.url(service, path), params=params)
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(service, f"{service}: {type(exc).__name__}") from exc
        if response.status_code == 404:
            raise NotFound(f"{service} has no {path}", code="not_found")
        if response.status_code != 200:
            raise ServiceUnavailable(service, f"{service} answered {response.status_code}")
        return response.json()

    async def notification(self, notification_id: str) -> dict[str, Any] | None:
        """Notification's view of one notification (status, attempts, the redelivery
        requests it handled); None when it has none."""
        path = f"/v1/notifications/{path_segment(notification_id)}"
        try:
            found: dict[str, Any] = await self.get("notification", path)
        except NotFound:
            return None
        return found

    async def readiness(self, service: str) -> dict[str, Any]:
        try:
            response = await self._http.get(self.url(service, "/readyz"))
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            return {"service": service, "status": "unreachable", "error": type(exc).__name__}
        return {"service": service, "status": body.get("status"), "checks": body.get("checks")}

    async def outbox(self, service: str) -> OutboxFigures | None:
        try:
            response = await self._http.get(self.url(service, "/metrics"))
        except httpx.HTTPError:
            return None
        return outbox_figures(response.text) if response.status_code == 200 else None

    async def all_readiness(self) -> list[dict[str, Any]]:
        return list(await asyncio.gather(*(self.readiness(s) for s in WATCHED)))


class KafkaViews:
    """Consumer lag per partition and dead letters, read from the brokers."""

    def __init__(self, kafka: KafkaSettings) -> None:
        self._kafka = kafka

    @property
    def topic_prefix(self) -> str:
        return self._kafka.topic_prefix

    def group_of(self, service: str) -> str:
        return f"{self._kafka.topic_prefix}{service}"

    async def lag(self) -> list[PartitionLag]:
        """Each watched group's lag on every partition of the topics it has committed
        offsets on. The topics' partitions come from one metadata request naming them: a
        consumer's own metadata holds only the topics it was asked about before, and
        looking topics up there dropped all but those (``domain.lag_partitions``)."""
        security = client_security(self._kafka)
        admin = AIOKafkaAdminClient(bootstrap_servers=self._kafka.bootstrap_servers, **security)
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._kafka.bootstrap_servers, enable_auto_commit=False, **security
        )
        await admin.start()
        try:
            await consumer.start()
            try:
                return await self._lag(admin, consumer)
            finally:
                await consumer.stop()
        finally:
            await admin.close()

    async def _lag(
        self, admin: AIOKafkaAdminClient, consumer: AIOKafkaConsumer
    ) -> list[PartitionLag]:
        committed: dict[str, dict[tuple[str, int], int]] = {}
        for service in WATCHED:
            offsets = await admin.list_consumer_group_offsets(self.group_of(service))
            if offsets:
                committed[service] = {
                    (tp.topic, tp.partition): meta.offset for tp, meta in offsets.items()
                }
        topics = sorted({topic for offsets in committed.values() for topic, _ in offsets})
        if not topics:
            return []
        described = _partitions_of(await admin.describe_topics(topics))
        wanted = {
            service: lag_partitions(offsets, described) for service, offsets in committed.items()
        }
        everywhere = sorted({tp for partitions in wanted.values() for tp in partitions})
        ends = await consumer.end_offsets([TopicPartition(t, p) for t, p in everywhere])
        end_of = {(tp.topic, tp.partition): end for tp, end in ends.items()}
        rows: list[PartitionLag] = []
        for service, partitions in wanted.items():
            rows += partition_lag(
                service, committed[service], {tp: end_of[tp] for tp in partitions}
            )
        return rows

    async def dead_letters(self, limit: int | None = PAGE_LETTERS) -> list[DeadLetter]:
        """The letters a page shows (``PAGE_LETTERS``), or with ``None`` every retained one
        (a replay by position: a letter past the page's bound is replayed all the same)."""
        return await read_dead_letters(self._kafka, limit)


def _partitions_of(described: list[dict[str, Any]]) -> dict[str, set[int]]:
    """Each topic's partitions from a metadata answer: a topic the broker does not know
    (deleted) has none; one it could not describe now (another error) is left out."""
    return {
        topic["topic"]: {p["partition"] for p in topic.get("partitions") or []}
        for topic in described
        if topic.get("error_code") in (0, UnknownTopicOrPartitionError.errno)
    }
