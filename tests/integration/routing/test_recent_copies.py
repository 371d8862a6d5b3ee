"""An HTTP action decides on the copy of the dossier its process kept after its last write.

Routing keeps the dossier it planned, and each one an action committed: the next
action on that dossier skips its read; its write still checks the stored version.
When another instance changed the dossier since, the action runs again on a fresh
read: it is decided on the stored dossier, whether it then succeeds or is refused, and
nothing is written from the stale copy.
"""

from __future__ import annotations

from fastapi import FastAPI
from routing.dependencies import Routing
from routing.handlers import execute_command
from routing.recent import RecentDossiers

from shared.clock import ManualClock
from shared.events.commands import AcceptTransfer
from shared.events.registry import make_envelope
from shared.runtime import CommonSettings
from shared.testing import eventually
from shared.unit_of_work import UnitOfWork
from tests.integration.routing.helpers import (
    publisher,
    quiet_routing,
    receive,
    routing_app,
    routing_settings,
)
from tests.integration.store_commands import StoreCommands
from tests.unit.routing.builders import DISTRICT_COMMITTEE, MONDAY_9AM, TAN_HOA_DESK

CODE = "001.21.31.H59-260302-0031"
DESK = {"unit": TAN_HOA_DESK}
DISTRICT = {"unit": DISTRICT_COMMITTEE}
APPROVE = {"outcome": "approve"}


async def accept_elsewhere(app: FastAPI) -> None:
    """The district accepts the hand-over through another instance (no copy of ours)."""
    mine: Routing = app.state.routing
    other = Routing(mine.store, mine.calendar, mine.catalogue, mine.clock, mine.options)
    accept = AcceptTransfer(dossier_code=CODE, unit=DISTRICT_COMMITTEE, actor="elsewhere")
    envelope = make_envelope(accept, source="/tests/other-instance")

    async def work(uow: UnitOfWork) -> None:
        await execute_command(accept, uow, routing=other)

    await app.state.runtime.run_unit_of_work(work, envelope)


async def as_awaitable(value: bool) -> bool:
    return value


async def test_the_next_action_on_a_dossier_skips_its_read(
    common_settings: CommonSettings,
) -> None:
    settings = routing_settings(common_settings, scan_s=30)  # no deadline scans meanwhile
    commands = StoreCommands("routing")
    async with (
        routing_app(settings, ManualClock(MONDAY_9AM)) as (client, app),
        publisher(settings.kafka) as pub,
    ):
        await receive(pub, client, CODE)
        recent: RecentDossiers = app.state.routing.recent
        await eventually(lambda: as_awaitable(recent.holds(CODE)))  # kept once committed
        commands.reset()
        handed = await client.post(f"/v1/dossiers/{CODE}/step/complete", json={**DESK, **APPROVE})
        assert handed.status_code == 200
        assert commands.on("dossiers") == {"findAndModify": 1}  # the planned copy was kept
        assert recent.holds(CODE)

        commands.reset()
        accepted = await client.post(f"/v1/dossiers/{CODE}/transfer/accept", json=DISTRICT)

        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["dossier"]["holding_unit"] == DISTRICT_COMMITTEE
        assert commands.on("dossiers") == {"findAndModify": 1}
        stored = (await client.get(f"/v1/dossiers/{CODE}")).json()
        assert (stored["state"], stored["version"]) == ("PROCESSING", 2)


async def test_an_action_refused_on_a_stale_copy_is_decided_again_on_the_stored_dossier(
    common_settings: CommonSettings,
) -> None:
    async with quiet_routing(common_settings) as (client, app, pub):
        await receive(pub, client, CODE)
        handed = await client.post(f"/v1/dossiers/{CODE}/step/complete", json={**DESK, **APPROVE})
        assert handed.json()["dossier"]["state"] == "IN_TRANSFER"  # and kept so
        await accept_elsewhere(app)
        assert app.state.routing.recent.holds(CODE)

        # The kept copy (in transfer) would refuse a step completion; the stored one allows it.
        completed = await client.post(
            f"/v1/dossiers/{CODE}/step/complete", json={**DISTRICT, **APPROVE}
        )

        assert completed.status_code == 200, completed.text
        assert completed.json()["dossier"]["version"] == 3


async def test_a_write_over_a_stale_copy_is_undone_and_decided_again(
    common_settings: CommonSettings,
) -> None:
    async with quiet_routing(common_settings) as (client, app, pub):
        await receive(pub, client, CODE)
        await client.post(f"/v1/dossiers/{CODE}/step/complete", json={**DESK, **APPROVE})
        await accept_elsewhere(app)
        assert app.state.routing.recent.holds(CODE)

        # The kept copy (in transfer) allows a refusal; the stored one (accepted) does not.
        body = {**DISTRICT, "reason": "Thiếu giấy tờ"}
        refused = await client.post(f"/v1/dossiers/{CODE}/transfer/refuse", json=body)

        assert refused.status_code == 409, refused.text
        assert refused.json()["code"] == "transition_not_allowed"
        stored = (await client.get(f"/v1/dossiers/{CODE}")).json()
        assert (stored["state"], stored["holding_unit"], stored["version"]) == (
            "PROCESSING",
            DISTRICT_COMMITTEE,
            2,
        )
        assert not app.state.routing.recent.holds(CODE)
