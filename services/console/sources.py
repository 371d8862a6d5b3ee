"""Where the console reads: the services' HTTP APIs and Kafka (never another service's code).

``Services`` asks each service's read views, readiness and metrics over HTTP;
``KafkaViews`` reads consumer groups' committed offsets against the partitions' ends,
and the retained dead letters.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from console.config import WATCHED, ConsoleOptions
from console.domain import OutboxFigures, PartitionLag, outbox_figures, partition_lag
from shared.http import NotFound
from shared.kafka.deadletter import DeadLetter, read_dead_letters
from shared.kafka.security import client_security
from shared.settings import KafkaSettings


class ServiceUnavailable(Exception):
    """A service did not answer (shown on the page, not raised to the browser as a 500)."""


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
            raise ServiceUnavailable(f"{service}: {type(exc).__name__}") from exc
        if response.status_code == 404:
            raise NotFound(f"{service} has no {path}", code="not_found")
        if response.status_code != 200:
            raise ServiceUnavailable(f"{service} answered {response.status_code}")
        return response.json()

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

    def group_of(self, service: str) -> str:
        return f"{self._kafka.topic_prefix}{service}"

    async def lag(self) -> list[PartitionLag]:
        security = client_security(self._kafka)
        admin = AIOKafkaAdminClient(bootstrap_servers=self._kafka.bootstrap_servers, **security)
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._kafka.bootstrap_servers, enable_auto_commit=False, **security
        )
        await admin.start()
        await consumer.start()
        try:
            await consumer.topics()  # loads every topic's partitions
            rows: list[PartitionLag] = []
            for service in WATCHED:
                group = self.group_of(service)
                offsets = await admin.list_consumer_group_offsets(group)
                if not offsets:
                    continue
                topics = {tp.topic for tp in offsets}
                tps = [
                    TopicPartition(topic, p)
                    for topic in sorted(topics)
                    for p in sorted(consumer.partitions_for_topic(topic) or set())
                ] or list(offsets)
                ends = await consumer.end_offsets(tps)
                committed = {(tp.topic, tp.partition): meta.offset for tp, meta in offsets.items()}
                rows += partition_lag(
                    service, committed, {(tp.topic, tp.partition): end for tp, end in ends.items()}
                )
            return rows
        finally:
            await consumer.stop()
            await admin.close()

    async def dead_letters(self, limit: int = 1000) -> list[DeadLetter]:
        return await read_dead_letters(self._kafka, limit)
