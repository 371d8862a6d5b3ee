"""Applicant look-up and withdrawal with the token; the view follows other services' facts."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from shared.envelope import Envelope
from shared.events.deadlines import ApologyIssued, ApologyNotice
from shared.events.dossier import DossierState
from shared.events.registry import EventData, make_envelope
from shared.kafka.publisher import kafka_publisher
from shared.testing import eventually
from shared.topics import DOSSIER_EVENTS
from tests.integration.intake.helpers import DESK, MORNING, RunningIntake, submission
from tests.samples import transfer_accepted, transfer_requested

DISTRICT = "000.00.31.H59"


async def submit(intake: RunningIntake) -> tuple[str, str]:
    receipt = (await intake.client.post("/v1/dossiers", json=submission())).json()
    return receipt["code"], receipt["lookup_token"]


async def look_up(intake: RunningIntake, code: str, token: str | None) -> Any:
    headers = {"X-Lookup-Token": token} if token is not None else {}
    return await intake.client.get(f"/v1/dossiers/{code}", headers=headers)


def minutes(after_reception: int) -> datetime:
    return MORNING + timedelta(minutes=after_reception)


def routing_event(fact: EventData, minutes_after_reception: int) -> Envelope:
    return make_envelope(fact, source="/lienthong/routing", time=minutes(minutes_after_reception))


async def publish(intake: RunningIntake, *events: Envelope) -> None:
    async with kafka_publisher(intake.settings.kafka, "tests") as publisher:
        for event in events:
            await publisher.publish(event, DOSSIER_EVENTS)


async def test_the_token_opens_the_view_and_every_miss_is_the_same_404(
    intake: RunningIntake,
) -> None:
    code, token = await submit(intake)

    found = await look_up(intake, code, token)
    by_query = await intake.client.get(f"/v1/dossiers/{code}", params={"token": token})
    assert found.status_code == by_query.status_code == 200
    view = found.json()
    assert view["state"] == "RECEIVED"
    assert view["holding_unit"]["code"] == DESK
    assert view["appointment_date"] == "2026-11-27"
    assert [step["event_type"] for step in view["history"]] == ["dossier.received.v2"]
    assert view["history"][0]["label"]["vi"] == "Tiếp nhận hồ sơ"

    misses = [
        await look_up(intake, code, token[:-1] + ("A" if token[-1] != "A" else "B")),
        await look_up(intake, code, None),
        await look_up(intake, code, ""),
        await look_up(intake, f"{DESK}-261126-0002", token),  # a code that does not exist
        await look_up(intake, "not-a-code", token),
    ]
    assert {m.status_code for m in misses} == {404}
    assert len({m.content for m in misses}) == 1  # byte-identical bodies
    assert misses[0].json()["code"] == "not_found"


async def test_withdrawal_is_requested_once_then_refused(intake: RunningIntake) -> None:
    code, token = await submit(intake)

    wrong_token = await intake.client.post(
        f"/v1/dossiers/{code}/withdrawal", headers={"X-Lookup-Token": "wrong"}
    )
    first = await intake.client.post(
        f"/v1/dossiers/{code}/withdrawal",
        json={"reason": "Không còn nhu cầu"},
        headers={"X-Lookup-Token": token},
    )
    second = await intake.client.post(
        f"/v1/dossiers/{code}/withdrawal", headers={"X-Lookup-Token": token}
    )

    assert wrong_token.status_code == 404
    assert first.status_code == 200, first.text
    # A received dossier: the withdrawal is a request (portal status 7) the holder then stops.
    assert first.json()["state"] == "WITHDRAWAL_REQUESTED"
    assert first.json()["portal_status"] == 7
    assert first.json()["state_label"]["vi"] == "Công dân yêu cầu rút hồ sơ"
    assert second.status_code == 409
    assert (second.json()["code"], second.json()["field"]) == ("withdrawal_not_allowed", "state")
    events = await intake.published(expect=2)
    assert [e.type for e in events] == ["dossier.received.v2", "dossier.withdrawal.requested.v1"]
    withdrawn = events[1]
    assert withdrawn.data["portal_status"] == 7
    assert withdrawn.subject == code
    assert withdrawn.correlationid == events[0].id
    assert withdrawn.data["reason"] == "Không còn nhu cầu"
    assert withdrawn.data["holding_unit"] == DESK


async def test_the_view_follows_facts_from_other_services_once_and_in_order(
    intake: RunningIntake,
) -> None:
    code, token = await submit(intake)
    requested = routing_event(transfer_requested(code, to_unit=DISTRICT, at=minutes(10)), 10)
    accepted = routing_event(transfer_accepted(code, to_unit=DISTRICT, at=minutes(30)), 30)

    await publish(intake, requested, requested)  # a redelivery changes nothing

    async def in_transfer() -> Any:
        view = (await look_up(intake, code, token)).json()
        return view if view["state"] == "IN_TRANSFER" else None

    view = await eventually(in_transfer)
    assert view["holding_unit"]["code"] == DESK  # the desk holds it until the district accepts

    # The later fact first, then an older one arriving late: the state does not go back.
    again = transfer_requested(code, to_unit=DISTRICT, at=minutes(20))
    await publish(intake, accepted, routing_event(again, 20))

    async def three_steps() -> Any:
        view = (await look_up(intake, code, token)).json()
        return view if len(view["history"]) == 4 else None

    view = await eventually(three_steps)
    assert view["state"] == "PROCESSING"
    assert view["holding_unit"]["code"] == DISTRICT
    assert view["holding_unit"]["name_en"] == "Go Cong Dong District People's Committee"
    assert [s["event_type"] for s in view["history"]] == [
        "dossier.received.v2",
        "dossier.transfer.requested.v1",
        "dossier.transfer.requested.v1",
        "dossier.transfer.accepted.v1",
    ]
    # The withdrawal rule reads the state the view holds.
    withdrawn = await intake.client.post(
        f"/v1/dossiers/{code}/withdrawal", headers={"X-Lookup-Token": token}
    )
    assert withdrawn.json()["holding_unit"]["code"] == DISTRICT


async def test_an_apology_shows_its_new_appointment_date(intake: RunningIntake) -> None:
    code, token = await submit(intake)
    apology = ApologyIssued(
        dossier_code=code,
        state=DossierState.PROCESSING,
        holding_unit=DISTRICT,
        unit=DISTRICT,
        issued_at=MORNING + timedelta(days=1),
        apology=ApologyNotice(
            issuing_unit=DISTRICT,
            reason="Chậm thẩm định",
            original_appointment_date=date(2026, 11, 27),
            new_appointment_date=date(2026, 12, 3),
        ),
    )
    await publish(intake, routing_event(apology, 60 * 24))

    async def moved() -> Any:
        view = (await look_up(intake, code, token)).json()
        return view if view["appointment_date"] == "2026-12-03" else None

    view = await eventually(moved)
    assert view["history"][-1]["label"]["en"] == "Apology and new appointment date"
    assert view["history"][-1]["label"]["vi"] == "Phiếu xin lỗi và hẹn lại ngày trả kết quả"
