"""Commands: a replay acts once; a refused command answers with an event; HTTP refusals."""

from __future__ import annotations

from datetime import timedelta

from shared.clock import ManualClock
from shared.events.commands import AcceptTransfer, CompleteStep, HandOverResult, RefuseTransfer
from shared.events.dossier import StepOutcome
from shared.events.registry import make_envelope
from shared.kafka.deadletter import to_dead_letter
from shared.runtime import CommonSettings
from shared.testing import auth_headers, read_topic
from shared.topics import DEAD_LETTERS, DOSSIER_COMMANDS, topic_name
from tests.integration.routing.helpers import (
    command,
    publisher,
    quiet_routing,
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
    TAN_HOA_DESK,
    VAM_LANG_DESK,
)

CODE = "001.21.31.H59-260302-0011"
APPROVE = StepOutcome.APPROVE


async def test_a_command_replayed_twice_acts_once(common_settings: CommonSettings) -> None:
    clock = ManualClock(MONDAY_9AM)
    settings = routing_settings(common_settings)
    async with routing_app(settings, clock) as (client, _), publisher(settings.kafka) as pub:
        await receive(pub, client, CODE)
        complete = make_envelope(
            CompleteStep(dossier_code=CODE, unit=TAN_HOA_DESK, outcome=APPROVE),
            source="/agency/tan-hoa",
        )
        for _ in range(3):  # the original and two replays, same command id
            await pub.publish(complete, DOSSIER_COMMANDS)
        # A later command proves the replays were consumed before it.
        accept = await command(pub, AcceptTransfer(dossier_code=CODE, unit=DISTRICT_COMMITTEE))
        await wait_for(client, CODE, "PROCESSING", holding_unit=DISTRICT_COMMITTEE)

        events = await read_events(settings.kafka, CODE, expect=4)
        assert types(events) == [
            "dossier.route.planned.v1",
            "dossier.step.completed.v1",
            "dossier.transfer.requested.v1",
            "dossier.transfer.accepted.v1",
        ]
        assert events[1].causationid == complete.id
        assert events[3].causationid == accept.id
        dossier = (await client.get(f"/v1/dossiers/{CODE}")).json()
        assert dossier["version"] == 2


async def test_a_command_from_the_wrong_unit_is_refused_with_an_event(
    common_settings: CommonSettings,
) -> None:
    clock = ManualClock(MONDAY_9AM)
    settings = routing_settings(common_settings)
    async with routing_app(settings, clock) as (client, _), publisher(settings.kafka) as pub:
        await receive(pub, client, CODE)
        before = (await client.get(f"/v1/dossiers/{CODE}")).json()
        wrong_unit = await command(
            pub, CompleteStep(dossier_code=CODE, unit=DISTRICT_COMMITTEE, outcome=APPROVE)
        )
        wrong_state = await command(pub, HandOverResult(dossier_code=CODE, unit=TAN_HOA_DESK))
        unknown = await command(pub, AcceptTransfer(dossier_code="NO-SUCH", unit=TAN_HOA_DESK))

        refusals = await read_events(settings.kafka, CODE, expect=3)
        assert types(refusals) == [
            "dossier.route.planned.v1",
            "dossier.command.refused.v1",
            "dossier.command.refused.v1",
        ]
        first, second = refusals[1].data, refusals[2].data
        assert first["command_id"] == wrong_unit.id == refusals[1].causationid
        assert first["command_type"] == "command.step.complete.v1"
        assert (first["unit"], first["code"]) == (DISTRICT_COMMITTEE, "not_holding_unit")
        assert DISTRICT_COMMITTEE in first["reason"]
        assert (second["command_id"], second["code"]) == (wrong_state.id, "transition_not_allowed")
        [missing] = await read_events(settings.kafka, "NO-SUCH", expect=1)
        assert (missing.data["command_id"], missing.data["code"]) == (unknown.id, "unknown_dossier")
        assert (await client.get(f"/v1/dossiers/{CODE}")).json() == before


async def test_http_refusals_are_problems_and_change_nothing(
    common_settings: CommonSettings,
) -> None:
    clock = ManualClock(MONDAY_9AM)
    settings = routing_settings(common_settings)
    async with routing_app(settings, clock) as (client, _), publisher(settings.kafka) as pub:
        await receive(pub, client, CODE)
        before = (await client.get(f"/v1/dossiers/{CODE}")).json()
        cases = [
            (
                "step/complete",
                {"unit": DISTRICT_COMMITTEE, "outcome": "approve"},
                403,
                "not_holding_unit",
            ),
            ("transfer/accept", {"unit": DISTRICT_COMMITTEE}, 409, "transition_not_allowed"),
            ("result/return", {"unit": TAN_HOA_DESK}, 409, "not_final_step"),
            ("result/hand-over", {"unit": TAN_HOA_DESK}, 409, "transition_not_allowed"),
        ]
        for action, body, status, code in cases:
            response = await client.post(f"/v1/dossiers/{CODE}/{action}", json=body)
            assert response.status_code == status, (action, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["code"] == code
        missing = await client.post(
            "/v1/dossiers/NO-SUCH/stop", json={"unit": TAN_HOA_DESK, "reason": "x"}
        )
        assert (missing.status_code, missing.json()["code"]) == (404, "unknown_dossier")
        invalid = await client.post(
            f"/v1/dossiers/{CODE}/step/complete",
            json={"unit": "x"},
            headers=auth_headers(f"agency:{TAN_HOA_DESK}"),
        )
        assert invalid.status_code == 422
        assert (await client.get(f"/v1/dossiers/{CODE}")).json() == before

        # An Idempotency-Key makes a retried request act once.
        clock.advance(timedelta(hours=1))
        headers = {"Idempotency-Key": "desk-retry-1"}
        body = {"unit": TAN_HOA_DESK, "outcome": "approve"}
        first = await client.post(f"/v1/dossiers/{CODE}/step/complete", json=body, headers=headers)
        again = await client.post(f"/v1/dossiers/{CODE}/step/complete", json=body, headers=headers)
        assert first.json()["replayed"] is False and len(first.json()["events"]) == 2
        assert again.status_code == 200 and again.json()["replayed"] is True
        assert again.json()["events"] == []
        assert again.json()["dossier"]["version"] == first.json()["dossier"]["version"]
        # The same key on another action is not a retry: refused, and nothing changes.
        reused = await client.post(
            f"/v1/dossiers/{CODE}/stop", json={"unit": TAN_HOA_DESK, "reason": "x"}, headers=headers
        )
        assert reused.status_code == 409 and reused.json()["code"] == "idempotency_key_reused"
        # Nor is the same action with another body.
        other = {**body, "note": "another request"}
        reused = await client.post(
            f"/v1/dossiers/{CODE}/step/complete", json=other, headers=headers
        )
        assert reused.status_code == 409 and reused.json()["field"] == "Idempotency-Key"
        # A key of another format is refused before anything is done.
        bad = await client.post(
            f"/v1/dossiers/{CODE}/stop",
            json={"unit": TAN_HOA_DESK, "reason": "x"},
            headers={"Idempotency-Key": "short"},
        )
        assert (bad.status_code, bad.json()["code"]) == (422, "invalid_idempotency_key")
        assert (await client.get(f"/v1/dossiers/{CODE}")).json() == again.json()["dossier"]
        events = await read_events(settings.kafka, CODE, expect=3)
        assert types(events) == [
            "dossier.route.planned.v1",
            "dossier.step.completed.v1",
            "dossier.transfer.requested.v1",
        ]


async def test_a_refusal_without_its_reason_is_refused_over_http_and_on_the_topic(
    common_settings: CommonSettings,
) -> None:
    """A unit refusing a dossier (reject) owes the applicant a written reason: without
    ``note`` the action is refused (422 ``reason_required`` naming the field; on the topic
    a refusal event) and nothing changes; with it the refusal goes through."""
    clock = ManualClock(MONDAY_9AM)
    settings = routing_settings(common_settings)
    async with routing_app(settings, clock) as (client, _), publisher(settings.kafka) as pub:
        await receive(pub, client, CODE)
        before = (await client.get(f"/v1/dossiers/{CODE}")).json()
        for body in (
            {"unit": TAN_HOA_DESK, "outcome": "reject"},
            {"unit": TAN_HOA_DESK, "outcome": "reject", "note": "   "},
        ):
            response = await client.post(f"/v1/dossiers/{CODE}/step/complete", json=body)
            assert response.status_code == 422, response.text
            assert response.headers["content-type"] == "application/problem+json"
            problem = response.json()
            assert (problem["code"], problem["field"]) == ("reason_required", "note")
        assert (await client.get(f"/v1/dossiers/{CODE}")).json() == before
        silent = await command(
            pub, CompleteStep(dossier_code=CODE, unit=TAN_HOA_DESK, outcome=StepOutcome.REJECT)
        )
        [_, refused] = await read_events(settings.kafka, CODE, expect=2)
        assert refused.type == "dossier.command.refused.v1"
        assert (refused.data["command_id"], refused.data["code"]) == (silent.id, "reason_required")
        assert "note" in refused.data["reason"]
        assert (await client.get(f"/v1/dossiers/{CODE}")).json()["version"] == before["version"]

        reason = "Không đủ điều kiện: người yêu cầu không cư trú tại địa phương"
        body = {"unit": TAN_HOA_DESK, "outcome": "reject", "note": reason}
        done = await client.post(f"/v1/dossiers/{CODE}/step/complete", json=body)
        assert done.status_code == 200, done.text
        events = await read_events(settings.kafka, CODE, expect=3)
        assert events[2].type == "dossier.step.completed.v1"
        assert (events[2].data["outcome"], events[2].data["note"]) == ("reject", reason)


async def test_a_command_breaking_its_contract_is_refused_with_an_event(
    common_settings: CommonSettings,
) -> None:
    clock = ManualClock(MONDAY_9AM)
    settings = routing_settings(common_settings)
    async with routing_app(settings, clock) as (client, _), publisher(settings.kafka) as pub:
        await receive(pub, client, CODE)
        valid = make_envelope(
            RefuseTransfer(dossier_code=CODE, unit=DISTRICT_COMMITTEE, reason="wrong district"),
            source="/agency/tests",
        )
        no_reason = valid.model_copy(update={"data": {**valid.data, "reason": ""}})
        teleport = valid.model_copy(
            update={"id": "cmd-teleport", "type": "command.dossier.teleport.v1"}
        )
        await pub.publish(no_reason, DOSSIER_COMMANDS)
        await pub.publish(teleport, DOSSIER_COMMANDS)

        events = await read_events(settings.kafka, CODE, expect=3)
        assert types(events) == ["dossier.route.planned.v1"] + ["dossier.command.refused.v1"] * 2
        first, second = events[1].data, events[2].data
        assert (first["command_id"], first["code"]) == (no_reason.id, "invalid_command")
        assert "reason" in first["reason"] and first["unit"] == DISTRICT_COMMITTEE
        assert (second["command_id"], second["code"]) == ("cmd-teleport", "invalid_command")
        assert "unknown event type" in second["reason"]
        assert (await client.get(f"/v1/dossiers/{CODE}")).json()["version"] == 0


async def test_an_action_tells_outsiders_nothing_and_records_who_acted(
    common_settings: CommonSettings,
) -> None:
    """A unit outside the dossier learns nothing of it (404, as for an unknown code); a
    person acts as themselves; an Idempotency-Key is its caller's own."""
    code = "001.21.31.H59-260302-0012"
    async with quiet_routing(common_settings) as (client, _, pub):
        await receive(pub, client, code)
        before = (await client.get(f"/v1/dossiers/{code}")).json()
        outsider = auth_headers(f"agency:{VAM_LANG_DESK}")
        for action, body in [("stop", {"reason": "x"}), ("transfer/accept", {})]:
            hidden = await client.post(f"/v1/dossiers/{code}/{action}", json=body, headers=outsider)
            assert (hidden.status_code, hidden.json()["code"]) == (404, "unknown_dossier")

        desk = auth_headers("desk")
        approve = {"outcome": "approve"}
        posing = await client.post(
            f"/v1/dossiers/{code}/step/complete",
            json={**approve, "actor": "Chủ tịch UBND"},
            headers=desk,
        )
        assert (posing.status_code, posing.json()["code"]) == (403, "wrong_actor")
        assert (await client.get(f"/v1/dossiers/{code}")).json() == before

        key = {"Idempotency-Key": "shared-key-0001"}
        done = await client.post(
            f"/v1/dossiers/{code}/step/complete", json=approve, headers={**desk, **key}
        )
        assert done.status_code == 200, done.text
        # The district's system uses the same key: its own, so it acts.
        district = {**auth_headers(f"agency:{DISTRICT_COMMITTEE}"), **key}
        accepted = await client.post(
            f"/v1/dossiers/{code}/transfer/accept", json={"actor": "Lê Văn C"}, headers=district
        )
        assert accepted.status_code == 200 and accepted.json()["replayed"] is False

        trail = (await client.get(f"/v1/dossiers/{code}/trail")).json()
        actors = [(entry["event"], entry["actor"]) for entry in trail["events"]]
        assert ("dossier.step.completed.v1", "desk.tanhoa") in actors
        assert ("dossier.transfer.accepted.v1", "Lê Văn C") in actors  # named by its system


async def test_what_an_action_may_carry_is_bounded(common_settings: CommonSettings) -> None:
    code = "001.21.31.H59-260302-0013"
    async with quiet_routing(common_settings) as (client, _, pub):
        await receive(pub, client, code)
        before = (await client.get(f"/v1/dossiers/{code}")).json()
        request = f"/v1/dossiers/{code}/supplement/request"
        for body in [
            {"unit": TAN_HOA_DESK, "missing_documents": ["x"] * 51, "reason": "r"},
            {"unit": TAN_HOA_DESK, "missing_documents": ["x" * 201], "reason": "r"},
            {"unit": TAN_HOA_DESK, "missing_documents": ["x"], "reason": "bell\x07"},
        ]:
            refused = await client.post(request, json=body)
            assert refused.status_code == 422, refused.text
        assert (await client.get(f"/v1/dossiers/{code}")).json() == before


async def test_a_command_nested_too_deep_to_parse_does_not_stop_the_consumer(
    common_settings: CommonSettings,
) -> None:
    """Nested past what ``json`` recurses, naming an id and subject: it cannot be read,
    so it is dead-lettered, and the commands after it are answered (it used to raise
    RecursionError on every attempt, taken for an outage: the consumer stood still)."""
    code = "001.21.31.H59-260302-0014"
    async with quiet_routing(common_settings) as (client, _, pub):
        await receive(pub, client, code)
        deep = f'{{"id": "cmd-deep", "subject": "{code}", "data": {{"x": '.encode()
        deep += b"[" * 100_000 + b"]" * 100_000 + b"}}"
        topic = topic_name(common_settings.kafka.topic_prefix, DOSSIER_COMMANDS)
        await pub.publish_raw(topic, deep, key=code, headers=[])
        after = await command(pub, HandOverResult(dossier_code=code, unit=TAN_HOA_DESK))

        events = await read_events(common_settings.kafka, code, expect=2)
        assert types(events) == ["dossier.route.planned.v1", "dossier.command.refused.v1"]
        assert events[1].data["command_id"] == after.id


async def test_a_command_tells_a_unit_outside_the_dossier_nothing(
    common_settings: CommonSettings,
) -> None:
    """As over HTTP, a unit that is no part of the dossier is refused ``unknown_dossier``,
    whatever the dossier's state: the refusal does not tell it the state, nor that the
    code exists."""
    code = "001.21.31.H59-260302-0015"
    async with quiet_routing(common_settings) as (client, _, pub):
        await receive(pub, client, code)
        before = (await client.get(f"/v1/dossiers/{code}")).json()
        outsider = await command(pub, AcceptTransfer(dossier_code=code, unit=VAM_LANG_DESK))
        party = await command(pub, AcceptTransfer(dossier_code=code, unit=DISTRICT_COMMITTEE))

        events = await read_events(common_settings.kafka, code, expect=3)
        assert types(events) == ["dossier.route.planned.v1"] + ["dossier.command.refused.v1"] * 2
        hidden, told = events[1].data, events[2].data
        assert (hidden["command_id"], hidden["unit"]) == (outsider.id, VAM_LANG_DESK)
        assert hidden["code"] == "unknown_dossier"
        assert hidden["reason"] == f"routing knows no dossier {code}"
        # A unit of the route is told why, as before.
        assert (told["command_id"], told["code"]) == (party.id, "transition_not_allowed")
        assert (await client.get(f"/v1/dossiers/{code}")).json() == before


async def test_a_command_whose_refusal_cannot_name_it_is_dead_lettered_at_once(
    common_settings: CommonSettings,
) -> None:
    """A valid envelope of an unknown type whose subject holds a bidirectional control
    character: no refusal can name it, so it is dead-lettered after one attempt (it used
    to be retried with backoff as if the store had failed, holding every command behind
    it), and the next command is answered."""
    code = "001.21.31.H59-260302-0016"
    async with quiet_routing(common_settings) as (client, _, pub):
        await receive(pub, client, code)
        valid = make_envelope(HandOverResult(dossier_code=code, unit=TAN_HOA_DESK), source="/t")
        hidden = valid.model_copy(
            update={"id": "cmd-bidi", "type": "command.teleport.v1", "subject": f"\u202e{code}"}
        )
        await pub.publish(hidden, DOSSIER_COMMANDS)
        after = await command(pub, HandOverResult(dossier_code=code, unit=TAN_HOA_DESK))

        events = await read_events(common_settings.kafka, code, expect=2)
        assert types(events) == ["dossier.route.planned.v1", "dossier.command.refused.v1"]
        assert events[1].data["command_id"] == after.id
        [record] = await read_topic(common_settings.kafka, DEAD_LETTERS, expect=1)
        letter = to_dead_letter(record)
        assert (letter.original_topic, letter.attempts) == (
            topic_name(common_settings.kafka.topic_prefix, DOSSIER_COMMANDS),
            1,
        )
        assert letter.error.startswith("MalformedMessage: ")
        assert "dossier_code [bidi_control]" in letter.error
