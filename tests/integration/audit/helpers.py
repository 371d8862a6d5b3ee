"""Helpers of the audit service's integration tests: publish, wait, verify the store."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from audit.config import AuditLogSettings, AuditSettings
from audit.export import export_from_mongo
from audit.trust import TrustPolicy, load_trust
from audit.verify import Failed, verify_document
from fastapi import FastAPI

from shared.clock import ManualClock
from shared.envelope import Envelope
from shared.events import REGISTRY
from shared.runtime import CommonSettings
from shared.testing import eventually


def audit_settings_for(
    common: CommonSettings, key_path: Path, *, every: int = 4, seconds: float = 30
) -> AuditSettings:
    """Audit settings on a test's topics and databases, with a quick checkpoint task."""
    return AuditSettings(
        **common.model_dump(),
        audit=AuditLogSettings(
            signing_key_path=key_path,
            checkpoint_every=every,
            checkpoint_seconds=seconds,
            checkpoint_poll_seconds=0.05,
        ),
    )


async def publish(app: FastAPI, events: list[Envelope]) -> None:
    """Put events on their contracts' topics with the running service's publisher."""
    for event in events:
        await app.state.runtime.publisher.publish(event, REGISTRY[event.type].TOPIC)


async def logged(client: httpx.AsyncClient, count: int) -> list[dict[str, Any]]:
    """Wait until the log holds ``count`` entries; return them."""

    async def probe() -> list[dict[str, Any]] | None:
        items = (await client.get("/v1/audit/entries", params={"limit": 500})).json()["items"]
        return items if len(items) >= count else None

    return await eventually(probe, timeout=60)  # a consumer group join is slow under load


async def checkpointed(client: httpx.AsyncClient, clock: ManualClock, size: int) -> dict[str, Any]:
    """Age the unsigned entries past the checkpoint interval; wait for a checkpoint at ``size``."""
    clock.advance(timedelta(seconds=31))

    async def probe() -> dict[str, Any] | None:
        response = await client.get("/v1/audit/checkpoints/latest")
        if response.status_code != 200 or response.json()["tree_size"] < size:
            return None
        body: dict[str, Any] = response.json()
        return body

    return await eventually(probe, timeout=60)  # a consumer group join is slow under load


def store_database(settings: AuditSettings) -> str:
    return f"{settings.mongo.database_prefix}audit"


async def trust_of(client: httpx.AsyncClient) -> TrustPolicy:
    """The trust file the service publishes (what an auditor pins after checking it)."""
    response = await client.get("/v1/audit/trust")
    return load_trust(response.json())


async def verify_store(settings: AuditSettings, trust: TrustPolicy) -> str:
    """Verify the whole log straight from the store: "OK ..." or "FAIL where: message"."""
    doc = await asyncio.to_thread(export_from_mongo, settings.mongo.uri, store_database(settings))
    try:
        return f"OK {verify_document(doc, trust)}"
    except Failed as failure:
        return f"FAIL {failure.where}: {failure.message}"
