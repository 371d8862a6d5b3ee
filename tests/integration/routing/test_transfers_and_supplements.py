"""A hand-over refused and re-sent; the supplement loop pausing and resuming the clock."""

from __future__ import annotations

from datetime import timedelta

from shared.calendar import load_calendar
from shared.clock import ManualClock
from shared.events.commands import ProvideSupplement, RefuseTransfer
from shared.runtime import CommonSettings
from shared.testing import eventually
from tests.integration.routing.helpers import (
    command,
    publisher,
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
    document,
)

CODE = "001.21.31.H59-260302-0007"
DESK = {"unit": TAN_HOA_DESK}
DISTRICT = {"unit": DISTRICT_COMMITTEE}
APPROVE = {"outcome": "approve"}


async def test_a_refused_transfer_goes_back_with_the_reason_and_is_resent(
    common_settings: CommonSettings,
) -> None:
    clock = ManualClock(MONDAY_9AM)
    settings = routing_settings(common_settings)
    async with routing_app(settings, clock) as (client, _), publisher(settings.kafka) as pub:
        await receive(pub, client, CODE)
        assert (
            await client.post(f"/v1/dossiers/{CODE}/step/complete", json={**DESK, **APPROVE})
        ).is_success
        clock.advance(timedelta(hours=1))
        reason = "Thiếu trích lục bản đồ địa chính"
        refusal = await command(
            pub, RefuseTransfer(dossier_code=CODE, unit=DISTRICT_COMMITTEE, reason=reason)
        )
        back = await wait_for(client, CODE, "PROCESSING", holding_unit=TAN_HOA_DESK)
        assert back["current_step"] == 0 and back["transfer"] is None
        desk_inbox = (await client.get(f"/v1/units/{TAN_HOA_DESK}/inbox")).json()
        assert desk_inbox["items"][0]["actions"][0] == "complete_step"

        clock.advance(timedelta(hours=1))
        resent = await client.post(f"/v1/dossiers/{CODE}/step/complete", json={**DESK, **APPROVE})
        assert resent.status_code == 200, resent.text
        clock.advance(timedelta(hours=1))
        accepted = await client.post(f"/v1/dossiers/{CODE}/transfer/accept", json=DISTRICT)
        assert accepted.json()["dossier"]["holding_unit"] == DISTRICT_COMMITTEE

        events = await read_events(settings.kafka, CODE, expect=7)
        assert types(events) == [
            "dossier.route.planned.v1",
            "dossier.step.completed.v1",
            "dossier.transfer.requested.v1",
            "dossier.transfer.refused.v1",
            "dossier.step.completed.v1",
            "dossier.transfer.requested.v1",
            "dossier.transfer.accepted.v1",
        ]
        refused = events[3]
        assert refused.causationid == refusal.id
        assert refused.data["reason"] == reason
        assert (refused.data["state"], refused.data["holding_unit"]) == ("PROCESSING", TAN_HOA_DESK)
        first, second = events[2].data["transfer_id"], events[5].data["transfer_id"]
        assert first != second and events[6].data["transfer_id"] == second
        trail = (await client.get(f"/v1/dossiers/{CODE}/trail")).json()
        assert [(t["status"], t["reason"]) for t in trail["transfers"]] == [
            ("refused", reason),
            ("accepted", None),
        ]


async def test_a_supplement_pauses_and_resumes_the_clock(common_settings: CommonSettings) -> None:
    calendar = load_calendar()
    clock = ManualClock(MONDAY_9AM)
    settings = routing_settings(common_settings)
    async with routing_app(settings, clock) as (client, app), publisher(settings.kafka) as pub:
        received = await receive(pub, client, CODE)
        await client.post(f"/v1/dossiers/{CODE}/step/complete", json={**DESK, **APPROVE})
        await client.post(f"/v1/dossiers/{CODE}/transfer/accept", json=DISTRICT)
        before = await wait_for(client, CODE, "PROCESSING", holding_unit=DISTRICT_COMMITTEE)
        step_due = before["steps"][1]["due_date"]

        clock.advance(timedelta(days=1))  # Tuesday
        asked = await client.post(
            f"/v1/dossiers/{CODE}/supplement/request",
            json={**DISTRICT, "missing_documents": ["cadastral_extract"], "reason": "Thiếu"},
        )
        assert asked.json()["dossier"]["state"] == "SUPPLEMENT_REQUESTED", asked.text

        # A month passes while the applicant gathers papers: the clock stands still.
        clock.advance(timedelta(days=30))
        scheduler = app.state.scheduler
        seen = scheduler.scans
        await eventually(lambda: _at_least(scheduler, seen + 3))

        # The applicant brings the papers to the commune desk; its system records them.
        provided_at = clock.now()
        supplement = ProvideSupplement(
            dossier_code=CODE, unit=TAN_HOA_DESK, documents=[document("Trích lục", "extract")]
        )
        await command(pub, supplement)
        after = await wait_for(client, CODE, "PROCESSING", holding_unit=DISTRICT_COMMITTEE)

        paused = calendar.working_days_between(
            calendar.local_date(MONDAY_9AM + timedelta(days=1)), calendar.local_date(provided_at)
        )
        assert paused >= 20
        events = await read_events(settings.kafka, CODE, expect=6)
        assert types(events)[-2:] == [
            "dossier.supplement.requested.v1",
            "dossier.supplement.provided.v1",
        ]
        provided = events[-1].data
        assert provided["paused_working_days"] == paused
        expected_due = calendar.add_working_days(calendar.local_date(MONDAY_9AM), 7 + paused)
        assert (
            provided["step_due_date"] == expected_due.isoformat() == after["steps"][1]["due_date"]
        )
        assert provided["step_due_date"] > step_due
        assert provided["appointment_date"] == after["appointment_date"]
        assert provided["documents_hash"] != received.data["documents_hash"]
        assert not any("overdue" in t for t in types(events))


async def _at_least(scheduler: object, scans: int) -> bool:
    return getattr(scheduler, "scans", 0) >= scans
