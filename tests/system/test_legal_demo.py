"""``make run``'s legal demo dossiers against the services as processes.

The three LEGAL_DEMO dossiers go through the public APIs with real tokens, as `make run`
does: the judicial record gets an apology with a new date before its appointment and its
Mẫu 04 prints; the land registration's fee is requested, paid and the dossier is DONE;
the household business registration waits for its fee, and the applicant's look-up
shows the national portal's status 6. Loaded again (a second make run the same day),
the same dossiers are shown as they are, not played again.
"""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path
from typing import Any

import httpx

from infra.demo import demo_auth
from infra.demo_legal import APOLOGY_DELAY_WORKING_DAYS, APOLOGY_REASON
from infra.demo_legal import load_legal_demo as load_legal
from shared.runtime import CommonSettings
from shared.settings import CalendarSettings
from shared.testing import auth_headers, eventually
from tests.system.console_platform import running_platform


def load_legal_demo(urls: dict[str, str]) -> list[tuple[str, str, str, bool]]:
    """(scenario, code, look-up token, submitted before) of each legal demo dossier, as
    make run loads them."""
    with httpx.Client(timeout=30, auth=demo_auth()) as client:
        loaded = load_legal(client, urls["intake"], urls["routing"])
    return [(legal.scenario, done.code, done.token, done.earlier) for legal, done, _ in loaded]


async def test_the_legal_demo_shows_an_apology_a_paid_fee_and_a_fee_awaited(
    common_settings: CommonSettings, smtp_port: int, tmp_path: Path
) -> None:
    async with running_platform(common_settings, smtp_port, tmp_path) as urls:
        loaded = await asyncio.to_thread(load_legal_demo, urls)
        assert not any(earlier for *_, earlier in loaded)
        dossiers = {scenario: (code, token) for scenario, code, token, _ in loaded}
        ops = auth_headers("operations")
        async with httpx.AsyncClient(timeout=30) as http:

            async def routing_view(code: str) -> Any:
                return (await http.get(f"{urls['routing']}/v1/dossiers/{code}", headers=ops)).json()

            code, _ = dossiers["apology"]
            view = await routing_view(code)
            original = date.fromisoformat(view["original_appointment_date"])
            calendar = CalendarSettings().load()
            assert (
                view["appointment_date"]
                == calendar.add_working_days(original, APOLOGY_DELAY_WORKING_DAYS).isoformat()
            )
            form = await http.get(f"{urls['routing']}/v1/dossiers/{code}/forms/04", headers=ops)
            assert form.status_code == 200, form.text
            assert "PHIẾU XIN LỖI" in form.text and APOLOGY_REASON in form.text

            code, _ = dossiers["paid"]
            view = await routing_view(code)
            assert view["state"] == "DONE"
            trail = await http.get(f"{urls['routing']}/v1/dossiers/{code}/trail", headers=ops)
            assert "payment" in trail.text

            code, token = dossiers["awaiting_payment"]
            assert (await routing_view(code))["state"] == "AWAITING_PAYMENT"

            async def portal_status() -> int | None:
                look_up = await http.get(
                    f"{urls['intake']}/v1/dossiers/{code}", headers={"X-Lookup-Token": token}
                )
                status: int | None = look_up.json().get("portal_status")
                return status if status == 6 else None

            assert await eventually(portal_status, timeout=30, interval=0.2) == 6

            # make run again the same day: the same dossiers, shown as they are, not moved
            versions = {c: (await routing_view(c))["version"] for c, _ in dossiers.values()}
            again = await asyncio.to_thread(load_legal_demo, urls)
            assert [(s, c, earlier) for s, c, _, earlier in again] == [
                (s, c, True) for s, c, _, _ in loaded
            ]
            assert {c: (await routing_view(c))["version"] for c in versions} == versions
