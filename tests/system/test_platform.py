"""The four services as separate processes: one dossier's whole journey across all of them.

Everyone logs in through the real Keycloak: the Tân Hòa desk user with the password
grant submits, the other units act through their agency systems' clients (client
credentials), operations reads routing's and notification's views, the auditor takes
the evidence bundle. Intake receives it, routing moves it commune → district → province
→ back to the commune desk, notification emails the applicant through a real SMTP
server, audit logs every event and hands out an evidence bundle that the offline
verifier accepts. Then every service stops gracefully on SIGTERM.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from email import message_from_bytes
from email.header import decode_header, make_header
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message

from infra.demo import DEMO, demo_auth, drive_to_done, submission
from infra.launcher import SERVICES, isolated_fleet
from infra.processes import ROOT, python_env
from shared.runtime import CommonSettings
from shared.testing import auth_headers, eventually, free_port

RICE_LAND = DEMO[1]  # 1.012815: commune → district → province → back, English applicant


class Inbox(Message):
    """An SMTP handler that keeps every message it receives."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[Any] = []

    def handle_message(self, message: Any) -> None:
        self.messages.append(message)


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture
async def platform(
    common_settings: CommonSettings, smtp: tuple[Inbox, int], tmp_path: Path
) -> AsyncIterator[dict[str, str]]:
    env = {"LT_AUDIT_CHECKPOINT_SECONDS": "0.5", "LT_AUDIT_CHECKPOINT_POLL_SECONDS": "0.2"}
    kafka, mongo = common_settings.kafka, common_settings.mongo
    # uvicorn re-raises SIGTERM after its graceful shutdown: 60 s for it, then SIGKILL.
    fleet = isolated_fleet(
        kafka, mongo, tmp_path, smtp[1], env=env, ready_timeout_s=60, stop_timeout_s=60
    )
    async with fleet.running():
        yield fleet.urls()
    for service in SERVICES:
        log = fleet.log(service).read_text()
        assert "Application shutdown complete" in log, f"{service}:\n{log[-3000:]}"


async def test_a_dossier_travels_through_all_four_services(
    platform: dict[str, str], smtp: tuple[Inbox, int], tmp_path: Path
) -> None:
    desk, ops, auditor = (auth_headers(who) for who in ("desk", "operations", "auditor"))
    async with httpx.AsyncClient(timeout=10) as client:
        anonymous = await client.post(
            f"{platform['intake']}/v1/dossiers", json=submission(RICE_LAND, 1)
        )
        assert anonymous.status_code == 401
        response = await client.post(
            f"{platform['intake']}/v1/dossiers", json=submission(RICE_LAND, 1), headers=desk
        )
        assert response.status_code == 201, response.text
        receipt = response.json()
        code, token = receipt["code"], receipt["lookup_token"]

        final = await asyncio.to_thread(_drive, platform["routing"], code)
        assert final["state"] == "DONE"
        levels = [step["unit"] for step in final["steps"]]
        assert len(set(levels)) == 3  # desk, district committee, province department

        async def applicant_sees_done() -> Any:
            view = await client.get(
                f"{platform['intake']}/v1/dossiers/{code}", headers={"X-Lookup-Token": token}
            )
            return view.json() if view.json()["state"] == "DONE" else None

        view = await eventually(applicant_sees_done, timeout=30)
        history = [step["event_type"] for step in view["history"]]
        assert history[0] == "dossier.received.v2" and history[-1] == "dossier.done.v1"
        assert history.count("dossier.transfer.accepted.v1") == 3

        trail_url = f"{platform['routing']}/v1/dossiers/{code}/trail"
        trail = (await client.get(trail_url, headers=ops)).json()
        assert trail["dossier_code"] == code and trail["state"] == "DONE"
        assert all(step["status"] == "completed" for step in trail["steps"][:-1])
        assert len(trail["transfers"]) == 3
        assert trail["holdings"][-1]["unit"] == trail["steps"][0]["unit"]  # back at the desk
        # Who acted comes from the tokens: the desk user, and the agency systems' accounts.
        actors = {entry["actor"] for entry in trail["events"] if entry["actor"]}
        assert "desk.tanhoa" in actors
        assert any(actor.startswith("service-account-agency-") for actor in actors), actors

        inbox = smtp[0]
        await eventually(lambda: _emails_for(inbox, RICE_LAND.email, at_least=2), timeout=30)
        subjects = [
            str(make_header(decode_header(m["Subject"])))
            for m in inbox.messages
            if m["To"] == RICE_LAND.email
        ]
        assert f"Your dossier {code} has been received" in subjects  # the applicant's language
        body = message_from_bytes(inbox.messages[0].as_bytes()).get_payload()
        assert body

        async def notified() -> Any:
            listed = await client.get(
                f"{platform['notification']}/v1/notifications",
                params={"dossier": code},
                headers=ops,
            )
            items = listed.json()["items"]
            return items if any(i["status"] == "sent" for i in items) else None

        await eventually(notified, timeout=30)

        async def bundle_with_done() -> Any:
            bundle = await client.get(
                f"{platform['audit']}/v1/audit/dossiers/{code}/bundle", headers=auditor
            )
            if bundle.status_code != 200:
                return None
            types = [e["event"]["type"] for e in bundle.json()["entries"]]
            return bundle.json() if "dossier.done.v1" in types else None

        bundle = await eventually(bundle_with_done, timeout=30)
        trust = await client.get(f"{platform['audit']}/v1/audit/trust", headers=auditor)

    path, trust_file = tmp_path / "bundle.json", tmp_path / "trust.json"
    path.write_text(json.dumps(bundle))
    trust_file.write_bytes(trust.content)
    verified = subprocess.run(  # noqa: ASYNC221 - the test's last step, nothing else runs
        [sys.executable, "-m", "audit.verify", "--trust", str(trust_file), str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=python_env(),
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.startswith("OK bundle")


def _drive(routing: str, code: str) -> Any:
    """Each unit acts with its own token: the desk user for Tân Hòa, agency clients else."""
    with httpx.Client(timeout=10, auth=demo_auth()) as client:
        return drive_to_done(client, routing, code)


async def _emails_for(inbox: Inbox, address: str, at_least: int) -> bool:
    return sum(1 for m in inbox.messages if m["To"] == address) >= at_least
