"""A dossier's facts are numbered 1, 2, 3... by intake's own writes of the dossier.

A new dossier's code is new, so its first facts start its sequence without a counter;
the dossier's document keeps the last number (``outbox_seq``), and every later action
numbers its fact from the document it replaces. A document stored before the field
existed carries on from its counter (``shared.mongo.document_sequences``).
"""

from __future__ import annotations

from shared.mongo.document_sequences import SEQ
from tests.integration.intake.helpers import RunningIntake, submission
from tests.integration.store_commands import StoreCommands


async def entries(intake: RunningIntake, code: str) -> list[tuple[int, str]]:
    found = await intake.ctx.runtime.outbox.entries_for(code)
    return [(int(str(e["seq"])), str(e["type"])) for e in found]


async def stored_seq(intake: RunningIntake, code: str) -> object:
    document = await intake.ctx.runtime.db["dossiers"].find_one({"_id": code})
    assert document is not None
    return document.get(SEQ)


async def test_a_submission_and_the_desk_s_reception_number_the_dossier_without_a_counter(
    intake: RunningIntake,
) -> None:
    commands = StoreCommands("intake")
    submitted = await intake.client.post("/v1/dossiers", json=submission(channel="online"))
    assert submitted.status_code == 201, submitted.text
    code = submitted.json()["code"]
    received = await intake.client.post(f"/v1/dossiers/{code}/reception")
    assert received.status_code == 200, received.text

    assert commands.on("counters") == {}
    assert await entries(intake, code) == [
        (1, "dossier.submitted.v2"),
        (2, "applicant.contact.registered.v1"),
        (3, "dossier.received.v2"),
    ]
    assert await stored_seq(intake, code) == 3


async def test_a_dossier_stored_before_the_field_carries_on_from_its_counter(
    intake: RunningIntake,
) -> None:
    submitted = await intake.client.post("/v1/dossiers", json=submission(channel="online"))
    code = submitted.json()["code"]
    db = intake.ctx.runtime.db
    # As an earlier version stored it: the sequence in the counter alone.
    await db["dossiers"].update_one({"_id": code}, {"$unset": {SEQ: 1}})
    await db["counters"].update_one({"_id": f"outbox:{code}"}, {"$set": {"value": 7}}, upsert=True)

    received = await intake.client.post(f"/v1/dossiers/{code}/reception")
    assert received.status_code == 200, received.text
    assert (await entries(intake, code))[-1] == (8, "dossier.received.v2")
    # The document carries the sequence from then on, and the next fact follows it.
    assert await stored_seq(intake, code) == 8
    withdrawal = await intake.client.post(
        f"/v1/dossiers/{code}/withdrawal",
        headers={"X-Lookup-Token": submitted.json()["lookup_token"]},
    )
    assert withdrawal.status_code == 200, withdrawal.text
    assert (await entries(intake, code))[-1] == (9, "dossier.withdrawal.requested.v1")
    assert await stored_seq(intake, code) == 9
