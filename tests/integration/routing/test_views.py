"""Read views over several dossiers: inbox filters and paging, nearly late, flows by unit."""

from __future__ import annotations

from datetime import timedelta

from shared.clock import ManualClock
from shared.runtime import CommonSettings
from tests.integration.routing.helpers import (
    publisher,
    receive,
    routing_app,
    routing_settings,
)
from tests.unit.routing.builders import DISTRICT_COMMITTEE, MONDAY_9AM, TAN_HOA_DESK

CODES = [f"001.21.31.H59-260302-{n:04d}" for n in range(1, 5)]


async def test_inbox_overdue_and_flows(common_settings: CommonSettings) -> None:
    clock = ManualClock(MONDAY_9AM)
    settings = routing_settings(common_settings, scan_s=30)  # views only; no scans needed
    async with routing_app(settings, clock) as (client, _), publisher(settings.kafka) as pub:
        for code in CODES:
            await receive(pub, client, code)
        # Two go on to the district; one of them is accepted there.
        for code in CODES[:2]:
            body = {"unit": TAN_HOA_DESK, "outcome": "approve"}
            assert (await client.post(f"/v1/dossiers/{code}/step/complete", json=body)).is_success
        accepted = await client.post(
            f"/v1/dossiers/{CODES[0]}/transfer/accept", json={"unit": DISTRICT_COMMITTEE}
        )
        assert accepted.is_success

        desk = f"/v1/units/{TAN_HOA_DESK}/inbox"
        page = (await client.get(desk, params={"limit": 1})).json()
        assert (page["total"], len(page["items"])) == (2, 1)
        rest = (await client.get(desk, params={"limit": 1, "offset": 1})).json()
        assert {page["items"][0]["dossier_code"], rest["items"][0]["dossier_code"]} == set(
            CODES[2:]
        )
        district = (await client.get(f"/v1/units/{DISTRICT_COMMITTEE}/inbox")).json()
        # Same step due date for both: then by dossier code.
        assert [(i["dossier_code"], i["state"], i["actions"][0]) for i in district["items"]] == [
            (CODES[0], "PROCESSING", "complete_step"),
            (CODES[1], "IN_TRANSFER", "accept_transfer"),
        ]
        transfers_only = (
            await client.get(
                f"/v1/units/{DISTRICT_COMMITTEE}/inbox", params={"state": "IN_TRANSFER"}
            )
        ).json()
        assert [i["dossier_code"] for i in transfers_only["items"]] == [CODES[1]]
        assert transfers_only["items"][0]["transfer_from"] == TAN_HOA_DESK
        other = (await client.get(desk, params={"procedure": "1.001193"})).json()
        assert other["total"] == 0
        bad = await client.get("/v1/units/not-a-unit/inbox")
        assert bad.status_code == 422

        # Tuesday afternoon: the desk's two dossiers are due today (nearly late), then late.
        clock.set(MONDAY_9AM + timedelta(days=1, hours=5))
        soon = (await client.get("/v1/overdue", params={"within_days": 0})).json()
        [desk_unit] = [u for u in soon["units"] if u["unit"] == TAN_HOA_DESK]
        assert (desk_unit["late"], desk_unit["nearly_late"]) == (0, 2)
        clock.set(MONDAY_9AM + timedelta(days=2))
        late = (await client.get("/v1/overdue", params={"unit": TAN_HOA_DESK})).json()
        assert [(u["unit"], u["late"]) for u in late["units"]] == [(TAN_HOA_DESK, 2)]
        late_inbox = (await client.get(desk, params={"late": "true"})).json()
        assert late_inbox["total"] == 2
        assert all(i["step_lateness"] == "late" for i in late_inbox["items"])

        flows = (await client.get("/v1/flows")).json()
        assert flows["by_state"]["PROCESSING"] == 3 and flows["by_state"]["IN_TRANSFER"] == 1
        by_unit = {u["unit"]: u for u in flows["by_unit"]}
        assert by_unit[TAN_HOA_DESK]["states"] == {"PROCESSING": 2, "IN_TRANSFER": 1}
        assert by_unit[DISTRICT_COMMITTEE]["level"] == "district"
        [move] = flows["transfers"]["between_levels"]
        assert (move["from_level"], move["to_level"], move["requested"]) == (
            "commune",
            "district",
            2,
        )
        assert (move["accepted"], move["pending"]) == (1, 1)
        bad_window = await client.get(
            "/v1/flows", params={"since": "2026-03-05T00:00:00Z", "until": "2026-03-01T00:00:00Z"}
        )
        assert bad_window.status_code == 422 and bad_window.json()["code"] == "bad_window"
