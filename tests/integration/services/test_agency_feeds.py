"""A journey's facts reach, through the real broker, the feeds of exactly the units
docs/design.md ("Agency feeds") names, and no other unit's.

Intake and routing run in this process against the real broker and store, with a feed
for every unit of the catalogue. Three things happen:

1. dossier 1 (commune desk -> district -> province -> back to the desk): the district
   refuses the first hand-over, then the desk sends it again and it is carried to DONE;
2. dossier 2: handed to the district, which accepts it; the applicant then asks intake
   to withdraw it, and the district stops it;
3. another commune's system sends a command about dossier 1 that it has no part in.

The desk's feed has every fact of both dossiers; the district's those from the
completion that handed it each dossier on (its refusal included); the province's those
of dossier 1 from the completion that handed it on; the other commune's its refusal
alone; every other unit's feed nothing of either dossier. Each copy is the record of
``dossier.events`` (same event id, same key).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from intake.config import IntakeSettings
from intake.main import create_app as intake_app
from routing.config import RoutingSettings
from routing.main import create_app as routing_app

from infra.demo import DEMO, submission
from shared.envelope import Envelope
from shared.events.commands import AcceptTransfer
from shared.events.registry import make_envelope
from shared.kafka.admin import ensure_topics
from shared.kafka.publisher import kafka_publisher
from shared.runtime import CommonSettings
from shared.settings import CatalogueSettings, KafkaSettings
from shared.testing import ActAs, eventually, running_app
from shared.topics import DOSSIER_COMMANDS, DOSSIER_EVENTS, TopicSpec, agency_events, topic_name
from tests.unit.routing.builders import (
    DISTRICT_COMMITTEE,
    PROVINCE_NATURAL_RESOURCES,
    TAN_HOA_DESK,
    VAM_LANG_DESK,
)

RICE_LAND = DEMO[1]  # commune desk -> district -> province -> back to the desk
DESK, DISTRICT, PROVINCE, OTHER = (
    TAN_HOA_DESK,
    DISTRICT_COMMITTEE,
    PROVINCE_NATURAL_RESOURCES,
    VAM_LANG_DESK,
)


class Services:
    def __init__(self, intake: httpx.AsyncClient, routing: httpx.AsyncClient, apps: Any) -> None:
        self.intake, self.routing, self._apps = intake, routing, apps

    async def view(self, code: str) -> dict[str, Any]:
        async def routed() -> Any:
            response = await self.routing.get(f"/v1/dossiers/{code}")
            return response.json() if response.status_code == 200 else None

        return dict(await eventually(routed))

    async def act(self, code: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.routing.post(f"/v1/dossiers/{code}/{path}", json=body)
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def idle(self) -> None:
        """Until both outboxes are published and marked (copies go before the mark)."""
        outboxes = [self._apps["intake"].state.intake.runtime.outbox]
        outboxes.append(self._apps["routing"].state.runtime.outbox)

        async def drained() -> bool:
            return all([await outbox.count_pending() == 0 for outbox in outboxes])

        await eventually(drained)


@pytest.fixture
async def services(common_settings: CommonSettings) -> AsyncIterator[Services]:
    units = [unit.code for unit in CatalogueSettings().load().units]
    await ensure_topics(common_settings.kafka, tuple(agency_events(unit) for unit in units))
    common = common_settings.model_dump()
    apps = {
        "intake": intake_app(IntakeSettings(**common)),
        "routing": routing_app(RoutingSettings(**common)),
    }
    async with AsyncExitStack() as stack:
        intake = await stack.enter_async_context(running_app(apps["intake"], ActAs("desk")))
        routing = await stack.enter_async_context(running_app(apps["routing"], ActAs("operations")))
        yield Services(intake, routing, apps)


async def read_all(kafka: KafkaSettings, specs: list[TopicSpec]) -> dict[str, list[Envelope]]:
    """Every record of these topics, by base name, in offset order per partition."""
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka.bootstrap_servers, enable_auto_commit=False)
    await consumer.start()
    try:
        names = {topic_name(kafka.topic_prefix, spec): spec.name for spec in specs}
        tps = [
            TopicPartition(topic_name(kafka.topic_prefix, spec), partition)
            for spec in specs
            for partition in range(spec.partitions)
        ]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        found: dict[str, list[Envelope]] = defaultdict(list)
        while any([await consumer.position(tp) < end for tp, end in ends.items()]):
            for tp, records in (await consumer.getmany(timeout_ms=500)).items():
                for record in records:
                    envelope = Envelope.from_bytes(record.value)
                    assert record.key == envelope.subject.encode()
                    found[names[tp.topic]].append(envelope)
        return found
    finally:
        await consumer.stop()


def from_handing_to(facts: list[Envelope], unit: str) -> list[str]:
    """The ids of the facts from the completion that first handed the dossier to ``unit``
    (it and its hand-over request come in one decision) on."""
    first = next(
        i
        for i, f in enumerate(facts)
        if f.type == "dossier.transfer.requested.v1" and f.data["to_unit"] == unit
    )
    assert facts[first - 1].type == "dossier.step.completed.v1"
    return [f.id for f in facts[first - 1 :]]


async def test_each_fact_reaches_the_feeds_of_exactly_the_units_it_concerns(
    services: Services, common_settings: CommonSettings
) -> None:
    kafka = common_settings.kafka
    # 1. Dossier 1: the district refuses the hand-over, then it goes all the way.
    response = await services.intake.post("/v1/dossiers", json=submission(RICE_LAND, 41))
    assert response.status_code == 201, response.text
    one = response.json()["code"]
    await services.view(one)
    approve = {"outcome": "approve", "note": "Đạt yêu cầu"}
    await services.act(one, "step/complete", {"unit": DESK, **approve})
    await services.act(one, "transfer/refuse", {"unit": DISTRICT, "reason": "Thiếu trích lục"})
    await services.act(one, "step/complete", {"unit": DESK, **approve})
    await services.act(one, "transfer/accept", {"unit": DISTRICT})
    await services.act(one, "step/complete", {"unit": DISTRICT, **approve})
    await services.act(one, "transfer/accept", {"unit": PROVINCE})
    await services.act(one, "step/complete", {"unit": PROVINCE, **approve})
    await services.act(one, "transfer/accept", {"unit": DESK})
    await services.act(one, "result/return", {"unit": DESK, "note": "Kết quả đã sẵn sàng"})
    await services.act(one, "result/hand-over", {"unit": DESK})
    assert (await services.view(one))["state"] == "DONE"

    # 2. Dossier 2: held by the district when the applicant asks to withdraw it.
    response = await services.intake.post("/v1/dossiers", json=submission(RICE_LAND, 42))
    assert response.status_code == 201, response.text
    two, token = response.json()["code"], response.json()["lookup_token"]
    await services.view(two)
    await services.act(two, "step/complete", {"unit": DESK, **approve})
    await services.act(two, "transfer/accept", {"unit": DISTRICT})

    async def intake_sees_the_district() -> bool:
        """Intake names the holders its view has applied (from a view a hand-over behind,
        routing copies the request to the district: tests/integration/routing/
        test_withdrawal.py); this test takes the usual path."""
        view = await services.intake.get(f"/v1/dossiers/{two}", headers={"X-Lookup-Token": token})
        return view.status_code == 200 and view.json()["holding_unit"]["code"] == DISTRICT

    await eventually(intake_sees_the_district)
    withdrawn = await services.intake.post(
        f"/v1/dossiers/{two}/withdrawal",
        json={"reason": "Đổi ý"},
        headers={"X-Lookup-Token": token},
    )
    assert withdrawn.status_code == 200, withdrawn.text

    async def withdrawal_requested() -> bool:
        return bool((await services.view(two))["state"] == "WITHDRAWAL_REQUESTED")

    await eventually(withdrawal_requested)
    await services.act(two, "stop", {"unit": DISTRICT, "reason": "Người nộp rút hồ sơ"})

    # 3. Another commune's system accepts a hand-over of dossier 1 it has no part in.
    async with kafka_publisher(kafka, "tests") as publisher:
        stranger = make_envelope(AcceptTransfer(dossier_code=one, unit=OTHER), source="/agency")
        await publisher.publish(stranger, DOSSIER_COMMANDS)

    units = [unit.code for unit in CatalogueSettings().load().units]
    feeds = {unit: agency_events(unit) for unit in units}

    async def refusal_published() -> list[Envelope] | None:
        await services.idle()
        on_events = (await read_all(kafka, [DOSSIER_EVENTS]))[DOSSIER_EVENTS.name]
        refusals = [e for e in on_events if e.type == "dossier.command.refused.v1"]
        return on_events if refusals else None

    on_events = await eventually(refusal_published)
    await services.idle()
    facts = {
        code: [e for e in on_events if e.subject == code and e.type != "dossier.command.refused.v1"]
        for code in (one, two)
    }
    [refusal] = [e for e in on_events if e.type == "dossier.command.refused.v1"]
    assert (refusal.causationid, refusal.data["unit"]) == (stranger.id, OTHER)
    assert {e.source for e in facts[two]} == {"/lienthong/intake", "/lienthong/routing"}
    assert "dossier.withdrawal.requested.v1" in [e.type for e in facts[two]]
    assert "dossier.transfer.refused.v1" in [e.type for e in facts[one]]

    read = await read_all(kafka, list(feeds.values()))
    got = {unit: [e.id for e in read.get(feeds[unit].name, [])] for unit in units}
    expected: dict[str, list[str]] = {unit: [] for unit in units}
    expected[DESK] = [e.id for e in facts[one]] + [e.id for e in facts[two]]
    expected[DISTRICT] = from_handing_to(facts[one], DISTRICT) + from_handing_to(
        facts[two], DISTRICT
    )
    expected[PROVINCE] = from_handing_to(facts[one], PROVINCE)
    expected[OTHER] = [refusal.id]
    # Each feed keeps a dossier's order; the two dossiers interleave as they happened.
    assert {unit: sorted(ids) for unit, ids in got.items()} == {
        unit: sorted(ids) for unit, ids in expected.items()
    }
    for unit in (DESK, DISTRICT):
        for code in (one, two):
            mine = [e.id for e in read[feeds[unit].name] if e.subject == code]
            assert mine == [i for i in expected[unit] if i in {e.id for e in facts[code]}]
    withdrawal = next(e for e in facts[two] if e.type == "dossier.withdrawal.requested.v1")
    assert withdrawal.id in got[DISTRICT]  # the unit holding it, which must stop it
    same = {e.id: e for e in on_events}
    assert all(e == same[e.id] for e in read[feeds[DESK].name])  # the very record, copied
