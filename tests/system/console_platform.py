"""The five services as processes with dossiers in flight, for the console's browser test.

Starts intake, routing, notification, audit and the console on free ports against the
test's own topics and databases, loads demo dossiers through the public APIs (two
driven to DONE, the others one hand-over along), and can plant a dead letter that is
processed once replayed.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from infra.demo import DEMO, demo_auth, drive_to_done, move_one_step, submission
from infra.launcher import SERVICES as PLATFORM_SERVICES
from infra.launcher import Fleet, isolated_fleet
from infra.processes import ROOT
from shared.clock import SystemClock
from shared.envelope import Envelope
from shared.kafka.deadletter import DeadLetterWriter
from shared.kafka.publisher import kafka_publisher
from shared.runtime import CommonSettings
from shared.testing import auth_headers, read_topic
from shared.topics import DOSSIER_EVENTS, topic_name

SERVICES = [*PLATFORM_SERVICES, "console"]
__all__ = [  # ROOT too: the browser test keeps its screenshots under it
    "PLANTED_NAME",
    "ROOT",
    "SERVICES",
    "Platform",
    "audited_replay",
    "load_dossiers",
    "plant_dead_letter",
    "routing_knows",
    "running_fleet",
    "running_platform",
]


@dataclass
class Platform:
    urls: dict[str, str]
    codes: list[str]  # demo dossiers, in submission order
    done: list[str]  # those carried to DONE


@asynccontextmanager
async def running_platform(
    common: CommonSettings, smtp_port: int, workdir: Path
) -> AsyncIterator[dict[str, str]]:
    async with running_fleet(common, smtp_port, workdir) as fleet:
        yield fleet.urls()


@asynccontextmanager
async def running_fleet(
    common: CommonSettings, smtp_port: int, workdir: Path
) -> AsyncIterator[Fleet]:
    """The platform's processes, for a test that stops one of them (a service unreachable)."""
    env = {
        "LT_ROUTING_NEARLY_LATE_DAYS": "30",  # every dossier in flight is on the list
        "LT_CONSOLE_ACTIONS_ENABLED": "true",
        "LT_CONSOLE_REFRESH_SECONDS": "1",
    }
    fleet = isolated_fleet(
        common.kafka,
        common.mongo,
        workdir,
        smtp_port,
        services=SERVICES,
        env=env,
        ready_timeout_s=90,
        stop_timeout_s=60,
    )
    async with fleet.running():
        yield fleet


def load_dossiers(urls: dict[str, str]) -> tuple[list[str], list[str]]:
    """Demo dossiers through the public APIs: some DONE, the others one hand-over along."""
    codes, done = [], []
    with httpx.Client(timeout=30, auth=demo_auth()) as client:  # real tokens, as make run
        for serial, demo in enumerate(DEMO, start=1):
            response = client.post(f"{urls['intake']}/v1/dossiers", json=submission(demo, serial))
            response.raise_for_status()
            code = response.json()["code"]
            codes.append(code)
            if demo.finish:
                drive_to_done(client, urls["routing"], code)
                done.append(code)
            else:
                move_one_step(client, urls["routing"], code)
    return codes, done


PLANTED_NAME = "Nguyễn Văn Thử"  # in the planted letters' error: never on a page


async def plant_dead_letter(
    common: CommonSettings,
    new_code: str,
    kind: str = "handler_failed",
    notification_id: str | None = None,
) -> None:
    """A dossier.received fact routing 'failed' on: processed when replayed.

    It is a real received event read from the topic, given a new id and dossier code
    that no service has seen, so replaying it makes routing route a new dossier. With
    ``notification_id`` it stands for a failed delivery of that notification instead
    (kind ``delivery_failed``): replaying it asks notification for a redelivery.
    """
    records = await read_topic(common.kafka, DOSSIER_EVENTS, expect=1)
    received = next(
        Envelope.from_bytes(r.value) for r in records if b"dossier.received." in r.value
    )
    data = {**received.data, "dossier_code": new_code}
    forged = received.model_copy(update={"id": f"dl-{new_code}", "subject": new_code, "data": data})
    async with kafka_publisher(common.kafka, "tests") as publisher:
        writer = DeadLetterWriter(publisher, common.kafka, SystemClock(), "routing")
        await writer.write_message(
            original_topic=topic_name(common.kafka.topic_prefix, DOSSIER_EVENTS),
            key=new_code,
            value=json.dumps(json.loads(forged.to_bytes())).encode(),
            error=RuntimeError(f"no contact for {PLANTED_NAME} (planted by the test)"),
            kind=kind,
            attempts=3,
            consumer_group=f"{common.kafka.topic_prefix}routing",
            extra={"notification_id": notification_id} if notification_id else None,
        )


async def routing_knows(urls: dict[str, str], code: str) -> Any:
    async with httpx.AsyncClient(timeout=5) as client:
        response = await client.get(
            f"{urls['routing']}/v1/dossiers/{code}", headers=auth_headers("operations")
        )
        return response.json() if response.status_code == 200 else None


async def audited_replay(urls: dict[str, str], code: str) -> Any:
    """Audit's log entries of the replay fact about ``code``, once it logged one."""
    async with httpx.AsyncClient(timeout=5) as client:
        response = await client.get(
            f"{urls['audit']}/v1/audit/entries",
            params={"dossier": code, "type": "operations.deadletter.replayed.v1"},
            headers=auth_headers("auditor"),
        )
        return response.json()["items"] if response.status_code == 200 else None
