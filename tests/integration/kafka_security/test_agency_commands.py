"""A command acts only for the unit its sender is bound to: two real agency principals.

Routing runs on the secured broker as its own principal. Each agency system writes
commands to its own topic (``dossier.commands.<unit>``), which only it may write; a
command there that claims another unit is refused with ``dossier.command.refused.v1``
and changes nothing, and an agency cannot write to another agency's topic at all. Each
agency reads, as its own principal, the facts of its unit's dossiers on its own feed.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from aiokafka.errors import TopicAuthorizationFailedError

from shared.clock import ManualClock
from shared.events.commands import AcceptTransfer, CompleteStep, UnitCommand
from shared.events.dossier import DossierState, StepOutcome
from shared.events.registry import EventData, make_envelope
from shared.events.withdrawal import DossierWithdrawn
from shared.kafka.publisher import KafkaPublisher, kafka_publisher
from shared.runtime import CommonSettings
from shared.topics import TopicSpec, agency_commands, agency_events, topic_name
from tests.integration.kafka_security.conftest import SecuredBroker
from tests.integration.routing.helpers import read_events, routing_app, routing_settings, types
from tests.integration.routing.helpers import wait_for as wait_for_state
from tests.unit.routing.builders import (
    DISTRICT_COMMITTEE,
    MONDAY_9AM,
    TAN_HOA_DESK,
    VAM_LANG_DESK,
    received,
)

CODE = "001.21.31.H59-260302-0901"
CODE2 = "001.21.31.H59-260302-0902"


@asynccontextmanager
async def as_principal(broker: SecuredBroker, client_id: str) -> AsyncIterator[KafkaPublisher]:
    async with kafka_publisher(broker.as_client(client_id), client_id) as publisher:
        yield publisher


async def send(publisher: KafkaPublisher, data: EventData, topic: TopicSpec) -> str:
    envelope = make_envelope(data, source="/agency/tests")
    await publisher.publish(envelope, topic)
    return envelope.id


async def agency_command(broker: SecuredBroker, unit: str, command: UnitCommand) -> str:
    """``command`` sent by the agency system of ``unit``, on its own topic."""
    async with as_principal(broker, f"agency-{unit}") as agency:
        return await send(agency, command, agency_commands(unit))


@asynccontextmanager
async def secured_routing(
    broker: SecuredBroker, common: CommonSettings, code: str
) -> AsyncIterator[httpx.AsyncClient]:
    """Routing on the secured broker as its own principal, with ``code`` received from
    intake's principal and being processed; its HTTP client."""
    settings = routing_settings(common).model_copy(update={"kafka": broker.as_client("routing")})
    async with routing_app(settings, ManualClock(MONDAY_9AM)) as (client, _):
        async with as_principal(broker, "intake") as intake:
            await send(intake, received(code), received(code).TOPIC)
        await wait_for_state(client, code, "PROCESSING")
        yield client


async def test_a_command_claiming_another_unit_is_refused_and_changes_nothing(
    secured_broker: SecuredBroker, common_settings: CommonSettings
) -> None:
    broker = secured_broker
    async with secured_routing(broker, common_settings, CODE) as client:
        # The commune desk's system completes its own step: the dossier goes to the district.
        done = CompleteStep(dossier_code=CODE, unit=TAN_HOA_DESK, outcome=StepOutcome.APPROVE)
        await agency_command(broker, TAN_HOA_DESK, done)
        await wait_for_state(client, CODE, "IN_TRANSFER", action_unit=DISTRICT_COMMITTEE)

        # Another commune's system claims to be the district, on its own topic: refused.
        forged = AcceptTransfer(dossier_code=CODE, unit=DISTRICT_COMMITTEE, actor="forger")
        forged_id = await agency_command(broker, VAM_LANG_DESK, forged)
        refused = await read_events(broker.local(), CODE, expect=4)
        assert types(refused)[-1] == "dossier.command.refused.v1"
        assert refused[-1].data["command_id"] == forged_id
        assert (refused[-1].data["code"], refused[-1].data["unit"]) == (
            "not_senders_unit",
            VAM_LANG_DESK,
        )
        # Nothing changed: still waiting for the district.
        await wait_for_state(client, CODE, "IN_TRANSFER", action_unit=DISTRICT_COMMITTEE)
        # ... and the forger cannot write to the district's topic at all.
        with pytest.raises(TopicAuthorizationFailedError):
            async with as_principal(broker, f"agency-{VAM_LANG_DESK}") as forger:
                await send(forger, forged, agency_commands(DISTRICT_COMMITTEE))

        # The district's own system accepts: that one counts.
        accept = AcceptTransfer(dossier_code=CODE, unit=DISTRICT_COMMITTEE)
        await agency_command(broker, DISTRICT_COMMITTEE, accept)
        await wait_for_state(client, CODE, "PROCESSING", action_unit=DISTRICT_COMMITTEE)

    events = await read_events(broker.local(), CODE, expect=5)
    assert types(events) == [
        "dossier.route.planned.v1",
        "dossier.step.completed.v1",
        "dossier.transfer.requested.v1",
        "dossier.command.refused.v1",
        "dossier.transfer.accepted.v1",
    ]
    assert events[4].data["to_unit"] == DISTRICT_COMMITTEE
    # Each agency reads its own feed, as its own principal: the forger its refusal alone,
    # the district the dossier from its hand-over on, the desk all but the refusal.
    forgers = await read_events(
        broker.as_client(f"agency-{VAM_LANG_DESK}"),
        CODE,
        expect=1,
        spec=agency_events(VAM_LANG_DESK),
    )
    assert [(e.type, e.id) for e in forgers] == [("dossier.command.refused.v1", events[3].id)]
    district = await read_events(
        broker.as_client(f"agency-{DISTRICT_COMMITTEE}"),
        CODE,
        expect=3,
        spec=agency_events(DISTRICT_COMMITTEE),
    )
    assert [e.id for e in district] == [e.id for e in events[1:3]] + [events[4].id]
    desk = await read_events(
        broker.as_client(f"agency-{TAN_HOA_DESK}"), CODE, expect=4, spec=agency_events(TAN_HOA_DESK)
    )
    assert [e.id for e in desk] == [e.id for i, e in enumerate(events) if i != 3]


async def test_a_message_breaking_the_contract_is_answered_to_its_agency(
    secured_broker: SecuredBroker, common_settings: CommonSettings
) -> None:
    """An agency learns why a command did nothing: an envelope it got wrong, a fact that
    is no command, a payment time without its offset. Each is refused with
    invalid_command naming the agency's unit (the topic proves it), not dead-lettered
    where the agency cannot read; an envelope attribute we do not know is ignored."""
    broker = secured_broker
    async with secured_routing(broker, common_settings, CODE2) as client:
        topic = topic_name(broker.prefix, agency_commands(TAN_HOA_DESK))
        valid = make_envelope(
            CompleteStep(dossier_code=CODE2, unit=TAN_HOA_DESK, outcome=StepOutcome.APPROVE),
            source="/agency/tests",
        )
        body = json.loads(valid.to_bytes())
        no_offset = {**body, "id": "cmd-no-offset", "time": "2026-03-02T09:00:00"}
        withdrawn = DossierWithdrawn(
            dossier_code=CODE2,
            state=DossierState.WITHDRAWN,
            holding_unit=TAN_HOA_DESK,
            withdrawn_at=MONDAY_9AM,
        )
        a_fact = json.loads(make_envelope(withdrawn, source="/agency/tests").to_bytes())
        naive_payment = {
            **body,
            "id": "cmd-naive-payment",
            "type": "command.payment.confirm.v1",
            "data": {
                "dossier_code": CODE2,
                "unit": TAN_HOA_DESK,
                "amount_vnd": 1,
                "reference": "r",
                "paid_at": "2026-03-02T09:00:00",
            },
        }
        extended = {**body, "partitionkey": CODE2, "dataschema": "https://x.example/s"}
        async with as_principal(broker, f"agency-{TAN_HOA_DESK}") as agency:
            for message in (no_offset, a_fact, naive_payment, extended):
                await agency.publish_raw(topic, json.dumps(message).encode(), key=CODE2, headers=[])
        # The last one, valid but for attributes we do not know, is acted on.
        await wait_for_state(client, CODE2, "IN_TRANSFER", action_unit=DISTRICT_COMMITTEE)

    events = await read_events(broker.local(), CODE2, expect=6)
    refusals = [e.data for e in events if e.type == "dossier.command.refused.v1"]
    assert [(r["command_id"], r["code"], r["unit"]) for r in refusals] == [
        ("cmd-no-offset", "invalid_command", TAN_HOA_DESK),
        (a_fact["id"], "invalid_command", TAN_HOA_DESK),
        ("cmd-naive-payment", "invalid_command", TAN_HOA_DESK),
    ]
    assert "time" in refusals[0]["reason"] and "paid_at" in refusals[2]["reason"]
    assert "not taken on this topic" in refusals[1]["reason"]
    assert types(events)[-2:] == ["dossier.step.completed.v1", "dossier.transfer.requested.v1"]
