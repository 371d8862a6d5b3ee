"""A dead letter's replay is recorded and audited once, and carried out whatever fails in
between, against the real broker and store.

The console stops between recording a replay and republishing it: started again, it
republishes the letter and settles the action. Its store fails to settle a replay
already republished: replaying the letter again answers that action (republished once
more, which inboxes skip) with no second record and no second audit fact. Two operators
replaying one letter at once make one record. A letter replayed long ago, before the
latest actions, still lists its action.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from console import handlers
from console.actions import Operations
from console.config import ConsoleOptions, ConsoleSettings
from console.main import create_app
from console.store import DONE, RECORDED
from pymongo.errors import PyMongoError

from shared.auth import Principal, Role
from shared.envelope import Envelope
from shared.kafka.deadletter import DeadLetter, read_dead_letters
from shared.runtime import CommonSettings, ServiceRuntime
from shared.telemetry.messaging import header_value
from shared.testing import ActAs, eventually, read_topic, running_app
from shared.topics import DOSSIER_EVENTS, OPERATIONS_EVENTS, topic_name
from tests.samples import envelope_of, transfer_requested

CODE = "000.00.01.H59-261130-0077"
OPS = Principal(
    subject="ops-subject",
    roles=frozenset({Role.OPERATIONS}),
    unit=None,
    client_id=None,
    username="ops",
)


class Crash(BaseException):
    """The console's process ending here: nothing after this point runs."""


def console(common: CommonSettings) -> ConsoleSettings:
    return ConsoleSettings(**common.model_dump(), console=ConsoleOptions(actions_enabled=True))


async def write_letter(runtime: ServiceRuntime, common: CommonSettings, offset: int) -> None:
    """Routing gives up on a dossier fact it read at ``offset``: a dead letter."""
    await runtime.dead_letters.write_message(
        original_topic=topic_name(common.kafka.topic_prefix, DOSSIER_EVENTS),
        key=CODE,
        value=envelope_of(transfer_requested(CODE)).to_bytes(),
        error=RuntimeError("routing could not handle it"),
        kind="handler_failed",
        attempts=3,
        consumer_group=f"{common.kafka.topic_prefix}routing",
        original_partition=0,
        original_offset=offset,
    )


async def dead_letter(runtime: ServiceRuntime, common: CommonSettings) -> DeadLetter:
    """A dossier fact routing gave up on, on the dead-letter topic."""
    await write_letter(runtime, common, offset=7)

    async def letters() -> list[DeadLetter]:
        return await read_dead_letters(common.kafka)

    [letter] = await eventually(letters)
    return letter


async def audited(common: CommonSettings) -> list[Envelope]:
    records = await read_topic(common.kafka, OPERATIONS_EVENTS, expect=1)
    return [Envelope.from_bytes(r.value) for r in records]


async def replayed(common: CommonSettings, expect: int) -> list[Any]:
    """The letter's original message as republished on its topic (``expect`` times)."""
    records = await read_topic(common.kafka, DOSSIER_EVENTS, expect=expect)
    return [header_value(list(r.headers), "replayed_from") for r in records]


async def test_a_replay_recorded_before_the_console_stopped_is_carried_out_on_its_restart(
    common_settings: CommonSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = console(common_settings)
    app = create_app(settings)
    async with running_app(app):
        letter = await dead_letter(app.state.runtime, common_settings)

        async def crash(*args: Any) -> None:
            raise Crash

        with monkeypatch.context() as patched:
            patched.setattr(handlers, "replay", crash)
            with pytest.raises(Crash):
                await handlers.replay_letter(app.state.operations, letter, OPS)
        [action] = await app.state.operations.store.recent()
        assert action["status"] == RECORDED  # recorded and audited, never republished

    again = create_app(settings)
    async with running_app(again, ActAs("operations")) as desk:

        async def done() -> Any:
            items = (await desk.get("/api/actions")).json()["items"]
            return items if items[0]["status"] == DONE else None

        [finished] = await eventually(done)
    assert finished["_id"] == action["_id"]
    assert await replayed(common_settings, expect=1) == [f"{letter.partition}:{letter.offset}"]
    facts = await audited(common_settings)
    assert [(f.type, f.id) for f in facts] == [("operations.deadletter.replayed.v1", action["_id"])]


async def test_a_letter_replayed_again_is_answered_with_its_action_not_audited_again(
    common_settings: CommonSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = create_app(console(common_settings))
    async with running_app(app, ActAs("operations")) as desk:
        ops: Operations = app.state.operations
        letter = await dead_letter(app.state.runtime, common_settings)

        async def store_gone(*args: Any) -> None:
            raise PyMongoError("the store went away")

        with monkeypatch.context() as patched:
            patched.setattr(ops.store, "settle", store_gone)
            with pytest.raises(PyMongoError):  # republished, but not settled
                await handlers.replay_letter(ops, letter, OPS)
        [action] = await ops.store.recent()
        assert action["status"] == RECORDED

        position = f"{letter.partition}:{letter.offset}"
        for _ in range(2):
            answer = await desk.post("/api/deadletters/replay", json={"positions": [position]})
            assert answer.status_code == 200, answer.text
            [outcome] = answer.json()["replayed"]
            assert (outcome["id"], outcome["status"]) == (action["_id"], DONE)
        assert [a["_id"] for a in await ops.store.recent()] == [action["_id"]]
        listed = (await desk.get("/api/deadletters")).json()["items"]
        assert listed[0]["last_action"]["status"] == DONE
    # Republished when replayed, and once more to finish the action; not for the third.
    assert await replayed(common_settings, expect=2) == [position, position]
    assert [f.id for f in await audited(common_settings)] == [action["_id"]]


async def test_two_operators_replaying_one_letter_at_once_make_one_record(
    common_settings: CommonSettings,
) -> None:
    app = create_app(console(common_settings))
    async with running_app(app):
        ops: Operations = app.state.operations
        letter = await dead_letter(app.state.runtime, common_settings)
        first, second = await asyncio.gather(
            handlers.replay_letter(ops, letter, OPS), handlers.replay_letter(ops, letter, OPS)
        )
        assert first["id"] == second["id"]
        assert [a["_id"] for a in await ops.store.recent()] == [first["id"]]
    assert [f.id for f in await audited(common_settings)] == [first["id"]]


async def test_a_letter_replayed_before_the_latest_200_actions_still_lists_its_action(
    common_settings: CommonSettings,
) -> None:
    app = create_app(console(common_settings))
    async with running_app(app, ActAs("operations")) as desk:
        ops: Operations = app.state.operations
        letter = await dead_letter(app.state.runtime, common_settings)
        position = f"{letter.partition}:{letter.offset}"
        answer = await desk.post("/api/deadletters/replay", json={"positions": [position]})
        assert answer.status_code == 200, answer.text
        [replayed_one] = await ops.store.recent()
        assert replayed_one["status"] == DONE
        # A letter replayed before the console recorded the letter's identity (`letter`):
        # its record names the position alone.
        await write_letter(app.state.runtime, common_settings, offset=8)

        async def both() -> list[DeadLetter] | None:
            letters = await read_dead_letters(common_settings.kafka)
            return letters if len(letters) == 2 else None

        older = next(dl for dl in await eventually(both) if dl.offset != letter.offset)
        older_position = f"{older.partition}:{older.offset}"
        at = replayed_one["at"]
        legacy = {"action": "replay", "operator": "ops", "status": DONE, "at": at - timedelta(1)}
        await ops.store.actions.insert_one(
            {"_id": "legacy-replay", **legacy, "dead_letter": older_position}
        )
        # Then 200 redeliveries asked on dossiers' pages: neither replay is among the latest.
        await ops.store.actions.insert_many(
            [
                {
                    "_id": f"redelivery-{i}",
                    "action": "redelivery",
                    "operator": "ops",
                    "status": "sent",
                    "at": at + timedelta(seconds=i + 1),
                    "dossier_code": CODE,
                    "notification_id": f"notification-{i}",
                }
                for i in range(200)
            ]
        )
        latest = {a["_id"] for a in await ops.store.recent()}
        assert {replayed_one["_id"], "legacy-replay"}.isdisjoint(latest)

        listed = (await desk.get("/api/deadletters")).json()["items"]
        shown = {item["at"]: item["last_action"] for item in listed}
        assert shown[position] is not None and shown[older_position] is not None
        assert (shown[position]["action"], shown[position]["status"]) == ("replay", DONE)
        assert shown[older_position]["at"] == legacy["at"].isoformat().replace("+00:00", "Z")
