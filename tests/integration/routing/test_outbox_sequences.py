"""A dossier's facts are numbered 1, 2, 3... in the outbox, whoever emits them.

Routing keeps a dossier's outbox sequence on its document (``shared.mongo.document_sequences``): a
save numbers its facts with the same write, a refusal moves the field on, and a subject
with no dossier yet is numbered by its counter, which the dossier carries on from once
inserted. A document stored before the field existed carries on from its counter.
"""

from __future__ import annotations

from typing import Any

from shared.events.commands import AcceptTransfer, CompleteStep
from shared.events.dossier import StepOutcome
from shared.mongo.document_sequences import SEQ
from shared.runtime import CommonSettings
from shared.testing import eventually
from tests.integration.routing.helpers import (
    command,
    quiet_routing,
    receive,
)
from tests.integration.store_commands import StoreCommands
from tests.unit.routing.builders import DISTRICT_COMMITTEE, TAN_HOA_DESK

CODE = "001.21.31.H59-260302-0021"
APPROVE = {"unit": TAN_HOA_DESK, "outcome": "approve"}


async def entries(app: Any, count: int) -> list[tuple[int, str]]:
    """The dossier's outbox entries as (seq, type), once there are ``count``."""

    async def probe() -> list[tuple[int, str]] | None:
        found = await app.state.runtime.outbox.entries_for(CODE)
        return [(e["seq"], e["type"]) for e in found] if len(found) >= count else None

    return await eventually(probe)


async def test_every_emitter_numbers_the_dossier_in_one_sequence(
    common_settings: CommonSettings,
) -> None:
    async with quiet_routing(common_settings) as (client, app, pub):
        # Refused before routing knows the dossier: numbered by its counter.
        await command(pub, AcceptTransfer(dossier_code=CODE, unit=TAN_HOA_DESK))
        assert await entries(app, 1) == [(1, "dossier.command.refused.v1")]
        await receive(pub, client, CODE)
        commands = StoreCommands("routing")
        response = await client.post(f"/v1/dossiers/{CODE}/step/complete", json=APPROVE)
        assert response.status_code == 200
        assert commands.on("counters") == {}  # numbered by the dossier's save
        wrong_unit = CompleteStep(
            dossier_code=CODE, unit=DISTRICT_COMMITTEE, outcome=StepOutcome.APPROVE
        )
        await command(pub, wrong_unit)  # refused on a known dossier: its document's field

        numbered = await entries(app, 5)
        assert numbered == [
            (1, "dossier.command.refused.v1"),
            (2, "dossier.route.planned.v1"),
            (3, "dossier.step.completed.v1"),
            (4, "dossier.transfer.requested.v1"),
            (5, "dossier.command.refused.v1"),
        ]
        stored = await app.state.routing.store.dossiers.find_one({"_id": CODE})
        assert stored[SEQ] == 5


async def test_a_dossier_stored_before_the_field_carries_on_from_its_counter(
    common_settings: CommonSettings,
) -> None:
    async with quiet_routing(common_settings) as (client, app, pub):
        await receive(pub, client, CODE)
        db = app.state.runtime.db
        # As an earlier version stored it: the sequence in the counter alone.
        await db["dossiers"].update_one({"_id": CODE}, {"$unset": {SEQ: 1}})
        await db["counters"].update_one({"_id": f"outbox:{CODE}"}, {"$set": {"value": 7}})

        response = await client.post(f"/v1/dossiers/{CODE}/step/complete", json=APPROVE)

        assert response.status_code == 200
        assert (await entries(app, 3))[1:] == [
            (8, "dossier.step.completed.v1"),
            (9, "dossier.transfer.requested.v1"),
        ]
        assert (await db["dossiers"].find_one({"_id": CODE}))[SEQ] == 9
