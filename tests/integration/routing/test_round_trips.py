"""What a unit action asks of the store: the dossier read once and written once.

The journey's trace context and the hand-overs the flows view counts live in the
dossier's own document, so an action costs no other read or write on routing's
collections (the outbox's entries are the unit of work's). Dossiers stored before
that are brought up to date once, at start (one that no longer reads gets no
hand-overs rather than stopping the start).
"""

from __future__ import annotations

from routing.upgrade import upgrade_earlier_documents

from shared.clock import ManualClock
from shared.runtime import CommonSettings
from tests.integration.routing.helpers import (
    publisher,
    quiet_routing,
    receive,
    routing_app,
    routing_settings,
)
from tests.integration.store_commands import StoreCommands
from tests.unit.routing.builders import MONDAY_9AM, TAN_HOA_DESK

CODE = "001.21.31.H59-260302-0001"
TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


async def test_an_action_reads_and_writes_the_dossier_once(
    common_settings: CommonSettings,
) -> None:
    settings = routing_settings(common_settings, scan_s=30)  # no deadline scans meanwhile
    # No copies kept (routing.recent): what an action costs when its process has none.
    options = settings.routing.model_copy(update={"recent_dossiers": 0})
    settings = settings.model_copy(update={"routing": options})
    commands = StoreCommands("routing")
    async with (
        routing_app(settings, ManualClock(MONDAY_9AM)) as (client, _),
        publisher(settings.kafka) as pub,
    ):
        await receive(pub, client, CODE)
        commands.reset()
        body = {"unit": TAN_HOA_DESK, "outcome": "approve"}  # a hand-over to the district
        response = await client.post(f"/v1/dossiers/{CODE}/step/complete", json=body)

        assert response.status_code == 200
        assert "dossier.transfer.requested.v1" in response.json()["events"]
        assert commands.on("dossiers") == {"find": 1, "findAndModify": 1}
        assert commands.on("journey_traces") == commands.on("transfers") == {}


async def test_dossiers_stored_earlier_get_their_handovers_and_journey(
    common_settings: CommonSettings,
) -> None:
    async with quiet_routing(common_settings) as (client, app, pub):
        await receive(pub, client, CODE)
        body = {"unit": TAN_HOA_DESK, "outcome": "approve"}
        assert (await client.post(f"/v1/dossiers/{CODE}/step/complete", json=body)).is_success
        store = app.state.routing.store
        # As stored before: no hand-overs or journey in the document, the trace elsewhere.
        await store.dossiers.update_one({"_id": CODE}, {"$unset": {"handovers": 1, "journey": 1}})
        await app.state.runtime.db["journey_traces"].insert_one(
            {"_id": CODE, "traceparent": TRACEPARENT}
        )

        await store.dossiers.insert_one({"_id": "UNREADABLE", "model": {"code": 1}})
        db = app.state.runtime.db
        await db["upgrades"].delete_many({})  # as before the upgrade: no marker yet
        # Both get hand-overs; the unreadable one, stored without a summary, also gets
        # the summary's English step name (null: its model does not say it).
        assert await upgrade_earlier_documents(db, store, MONDAY_9AM) == 3
        assert await upgrade_earlier_documents(db, store, MONDAY_9AM) == 0  # marked done
        unreadable = await store.dossiers.find_one({"_id": "UNREADABLE"})
        assert unreadable is not None and unreadable["handovers"] == []
        assert unreadable["summary"] == {"step_name_en": None}
        loaded = await store.load(CODE)
        assert loaded is not None and loaded.journey == {"traceparent": TRACEPARENT}
        window = {"since": "2026-03-01T00:00:00Z", "until": "2026-03-03T00:00:00Z"}
        flows = (await client.get("/v1/flows", params=window)).json()
        [move] = flows["transfers"]["between_levels"]
        assert (move["from_level"], move["to_level"], move["pending"]) == (
            "commune",
            "district",
            1,
        )
