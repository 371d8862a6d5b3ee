"""Helpers for notification integration tests: publish events, read what was sent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from shared.envelope import Envelope
from shared.events import REGISTRY
from shared.kafka.publisher import kafka_publisher
from shared.runtime import CommonSettings

SECRET = "portal-shared-secret-0001"


async def publish(settings: CommonSettings, *events: Envelope) -> None:
    """Put events on their real topics (dossier facts, contacts), as intake and routing would."""
    async with kafka_publisher(settings.kafka, "tests") as publisher:
        for event in events:
            await publisher.publish(event, REGISTRY[event.type].TOPIC)


def sms_lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


async def notifications(
    client: httpx.AsyncClient, dossier: str, headers: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """The notifications API's items for one dossier."""
    response = await client.get("/v1/notifications", params={"dossier": dossier}, headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items
