"""The example agency client takes part through Kafka only, against a running routing app,
reading its own feed."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from shared.clock import ManualClock
from shared.kafka.admin import ensure_topics
from shared.runtime import CommonSettings
from shared.topics import agency_events
from tests.integration.routing.helpers import (
    publisher,
    read_events,
    receive,
    routing_app,
    routing_settings,
    types,
    wait_for,
)
from tests.unit.routing.builders import (
    DISTRICT_COMMITTEE,
    MONDAY_9AM,
    PROVINCE_NATURAL_RESOURCES,
    TAN_HOA_DESK,
)

ROOT = Path(__file__).resolve().parents[3]
CODE = "001.21.31.H59-260302-0031"


async def test_the_agency_client_accepts_completes_and_reads_its_refusal(
    common_settings: CommonSettings,
) -> None:
    clock = ManualClock(MONDAY_9AM)
    settings = routing_settings(common_settings)
    # The district's feed, which the client reads (the services make the feeds on a
    # secured broker only; the copies to the others, missing here, are left out).
    await ensure_topics(settings.kafka, (agency_events(DISTRICT_COMMITTEE),))
    async with routing_app(settings, clock) as (client, _), publisher(settings.kafka) as pub:
        await receive(pub, client, CODE)
        body = {"unit": TAN_HOA_DESK, "outcome": "approve"}
        assert (await client.post(f"/v1/dossiers/{CODE}/step/complete", json=body)).is_success

        process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(ROOT / "examples" / "agency_client.py"),
            "--bootstrap",
            settings.kafka.bootstrap_servers,
            "--unit",
            DISTRICT_COMMITTEE,
            "--topic-prefix",
            settings.kafka.topic_prefix,
            "--max-seconds",
            "60",
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await asyncio.wait_for(process.communicate(), timeout=90)
        output = out.decode()
        assert process.returncode == 0, output
        lines = [line.split(" ")[0] for line in output.splitlines()]
        assert lines == [
            "LISTENING",
            "HANDOVER",
            "SENT",
            "ACCEPTED",
            "SENT",
            "SENT",
            "REFUSED",
            "COMPLETED",
            "DONE",
        ], output
        assert "REFUSED command.result.handover.v1" in output
        assert "transition_not_allowed" in output
        assert f"COMPLETED {CODE} step 1 outcome approve" in output

        # The district's step is done and the dossier is on its way to the province.
        await wait_for(client, CODE, "IN_TRANSFER", action_unit=PROVINCE_NATURAL_RESOURCES)
        events = await read_events(settings.kafka, CODE, expect=7)
        assert types(events) == [
            "dossier.route.planned.v1",
            "dossier.step.completed.v1",
            "dossier.transfer.requested.v1",
            "dossier.transfer.accepted.v1",
            "dossier.command.refused.v1",
            "dossier.step.completed.v1",
            "dossier.transfer.requested.v1",
        ]
