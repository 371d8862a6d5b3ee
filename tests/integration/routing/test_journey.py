"""A dossier travels commune -> district -> province -> back and is done, over the real broker."""

from __future__ import annotations

from datetime import timedelta

from shared.clock import ManualClock
from shared.events.commands import AcceptTransfer, CompleteStep
from shared.events.dossier import StepOutcome
from shared.kafka.deadletter import read_dead_letters
from shared.runtime import CommonSettings
from shared.testing import eventually
from tests.integration.routing.helpers import (
    command,
    publisher,
    read_events,
    receive,
    routing_app,
    routing_settings,
    send,
    types,
    wait_for,
)
from tests.unit.routing.builders import (
    DISTRICT_COMMITTEE,
    MONDAY_9AM,
    PROVINCE_NATURAL_RESOURCES,
    TAN_HOA_DESK,
)
from tests.unit.routing.builders import received as received_event

CODE = "001.21.31.H59-260302-0001"
DESK = {"unit": TAN_HOA_DESK, "actor": "Trần Thị B"}


async def test_two_levels_up_and_back_to_the_commune(common_settings: CommonSettings) -> None:
    clock = ManualClock(MONDAY_9AM)
    settings = routing_settings(common_settings)
    async with routing_app(settings, clock) as (client, _), publisher(settings.kafka) as pub:
        received = await receive(pub, client, CODE)

        # The commune desk checks the dossier and sends it on (HTTP).
        clock.advance(timedelta(hours=2))
        sent = await client.post(
            f"/v1/dossiers/{CODE}/step/complete", json={**DESK, "outcome": "approve"}
        )
        assert sent.status_code == 200, sent.text
        assert sent.json()["events"] == [
            "dossier.step.completed.v1",
            "dossier.transfer.requested.v1",
        ]
        inbox = (await client.get(f"/v1/units/{DISTRICT_COMMITTEE}/inbox")).json()
        assert [i["dossier_code"] for i in inbox["items"]] == [CODE]
        assert inbox["items"][0]["actions"] == ["accept_transfer", "refuse_transfer"]

        # The district's own system takes part through the commands topic.
        clock.advance(timedelta(hours=1))
        await command(pub, AcceptTransfer(dossier_code=CODE, unit=DISTRICT_COMMITTEE))
        await wait_for(client, CODE, "PROCESSING", holding_unit=DISTRICT_COMMITTEE)
        clock.advance(timedelta(days=2))
        await command(
            pub,
            CompleteStep(dossier_code=CODE, unit=DISTRICT_COMMITTEE, outcome=StepOutcome.APPROVE),
        )
        await wait_for(client, CODE, "IN_TRANSFER", action_unit=PROVINCE_NATURAL_RESOURCES)

        # The province department works at its desk (HTTP) and sends it back down.
        clock.advance(timedelta(hours=3))
        province = {"unit": PROVINCE_NATURAL_RESOURCES}
        assert (await client.post(f"/v1/dossiers/{CODE}/transfer/accept", json=province)).is_success
        clock.advance(timedelta(days=5))
        done = await client.post(
            f"/v1/dossiers/{CODE}/step/complete", json={**province, "outcome": "approve"}
        )
        assert done.status_code == 200, done.text

        clock.advance(timedelta(hours=20))
        for action in ("transfer/accept", "result/return", "result/hand-over"):
            clock.advance(timedelta(hours=1))
            response = await client.post(f"/v1/dossiers/{CODE}/{action}", json=DESK)
            assert response.status_code == 200, (action, response.text)
        final = await wait_for(client, CODE, "DONE", holding_unit=TAN_HOA_DESK)
        assert final["outcome"] == "approved"

        events = await read_events(settings.kafka, CODE, expect=12)
        assert types(events) == [
            "dossier.route.planned.v1",
            *[
                "dossier.step.completed.v1",
                "dossier.transfer.requested.v1",
                "dossier.transfer.accepted.v1",
            ]
            * 3,
            "dossier.result.ready.v1",
            "dossier.done.v1",
        ]
        holders = [(e.data["state"], e.data["holding_unit"]) for e in events]
        assert holders[3] == ("PROCESSING", DISTRICT_COMMITTEE)
        assert holders[6] == ("PROCESSING", PROVINCE_NATURAL_RESOURCES)
        assert holders[-1] == ("DONE", TAN_HOA_DESK)
        assert all(e.correlationid == received.correlationid for e in events)
        receipts = [e.data["receipt"] for e in events if e.type == "dossier.transfer.accepted.v1"]
        assert [(r["from_unit"], r["to_unit"]) for r in receipts] == [
            (TAN_HOA_DESK, DISTRICT_COMMITTEE),
            (DISTRICT_COMMITTEE, PROVINCE_NATURAL_RESOURCES),
            (PROVINCE_NATURAL_RESOURCES, TAN_HOA_DESK),
        ]
        assert {r["documents_hash"] for r in receipts} == {received.data["documents_hash"]}

        trail = (await client.get(f"/v1/dossiers/{CODE}/trail")).json()
        assert [s["status"] for s in trail["steps"]] == ["completed"] * 4
        assert [(h["unit"], h["how"]) for h in trail["holdings"]] == [
            (TAN_HOA_DESK, "received"),
            (DISTRICT_COMMITTEE, "transfer_accepted"),
            (PROVINCE_NATURAL_RESOURCES, "transfer_accepted"),
            (TAN_HOA_DESK, "transfer_accepted"),
        ]
        assert all(h["until"] and h["duration_seconds"] > 0 for h in trail["holdings"])
        assert trail["holdings"][1]["duration_seconds"] == (2 * 24 + 3) * 3600
        assert [e["event"] for e in trail["events"]][:2] == [
            "dossier.received.v2",
            "dossier.route.planned.v1",
        ]
        assert len(trail["events"]) == 1 + len(events)
        assert all(t["receipt"] for t in trail["transfers"])

        flows = (await client.get("/v1/flows", params={"since": "2026-03-01T00:00:00Z"})).json()
        assert flows["by_state"]["DONE"] == 1
        levels = {
            (m["from_level"], m["to_level"]): m["accepted"]
            for m in flows["transfers"]["between_levels"]
        }
        assert levels == {
            ("commune", "district"): 1,
            ("district", "province"): 1,
            ("province", "commune"): 1,
        }


async def test_an_unroutable_dossier_is_dead_lettered_with_the_reason(
    common_settings: CommonSettings,
) -> None:
    clock = ManualClock(MONDAY_9AM)
    settings = routing_settings(common_settings)
    async with routing_app(settings, clock) as (client, _), publisher(settings.kafka) as pub:
        # Intake and routing disagree on the catalogue: routing cannot place this procedure.
        stray = received_event("001.21.31.H59-260302-0099").model_copy(
            update={"procedure_code": "9.999999"}
        )
        await send(pub, stray, source="/lienthong/intake")
        letters = await eventually(lambda: read_dead_letters(settings.kafka))
        [letter] = letters
        assert letter.key == "001.21.31.H59-260302-0099"
        assert "unknown procedure '9.999999'" in letter.error
        assert letter.error_kind == "handler_failed"
        missing = await client.get("/v1/dossiers/001.21.31.H59-260302-0099")
        assert (missing.status_code, missing.json()["code"]) == (404, "unknown_dossier")
