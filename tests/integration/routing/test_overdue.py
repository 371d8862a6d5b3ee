"""Deadlines with two routing instances: each due-soon and overdue fact is raised exactly once."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from datetime import timedelta

from fastapi import FastAPI

from shared.calendar import load_calendar
from shared.clock import ManualClock
from shared.envelope import Envelope
from shared.runtime import CommonSettings
from shared.testing import eventually
from tests.integration.routing.helpers import (
    publisher,
    read_events,
    receive,
    routing_app,
    routing_settings,
    types,
)
from tests.unit.routing.builders import DISTRICT_COMMITTEE, MONDAY_9AM, TAN_HOA_DESK

CODE = "001.21.31.H59-260302-0021"
SOON = "001.21.31.H59-260302-0022"


def distinct(events: list[Envelope]) -> list[Envelope]:
    """Events by id: the relay delivers at least once, consumers deduplicate by id."""
    seen: dict[str, Envelope] = {}
    for event in events:
        seen.setdefault(event.id, event)
    return list(seen.values())


async def settled(apps: list[FastAPI]) -> bool:
    """Nothing waits in the (shared) outbox."""
    pending: int = await apps[0].state.runtime.outbox.count_pending()
    return pending == 0


async def created(app: FastAPI, event_type: str, code: str = CODE) -> int:
    """How many events of a type routing wrote to its outbox for the dossier."""
    entries = await app.state.runtime.outbox.entries_for(code)
    return sum(1 for entry in entries if entry["type"] == event_type)


def scanned_again(apps: list[FastAPI], times: int) -> Callable[[], Awaitable[bool]]:
    """A probe: every instance's scheduler has scanned ``times`` more times from now."""
    marks = [app.state.scheduler.scans + times for app in apps]

    async def probe() -> bool:
        return all(app.state.scheduler.scans >= mark for app, mark in zip(apps, marks, strict=True))

    return probe


async def test_two_instances_raise_each_overdue_exactly_once(
    common_settings: CommonSettings,
) -> None:
    calendar = load_calendar()
    clock = ManualClock(MONDAY_9AM)
    settings = routing_settings(common_settings, scan_s=0.02)
    async with AsyncExitStack() as stack:
        first, app_a = await stack.enter_async_context(routing_app(settings, clock))
        _, app_b = await stack.enter_async_context(routing_app(settings, clock))
        pub = await stack.enter_async_context(publisher(settings.kafka))
        apps = [app_a, app_b]
        await receive(pub, first, CODE)
        planned = (await first.get(f"/v1/dossiers/{CODE}")).json()
        assert planned["steps"][0]["due_date"] == "2026-03-03"

        # Wednesday morning: step 0 (one working day at the desk) is late.
        await eventually(lambda: settled(apps))
        clock.set(MONDAY_9AM + timedelta(days=2))
        [late_step] = [
            e
            for e in distinct(await read_events(settings.kafka, CODE, expect=2))
            if "overdue" in e.type
        ]
        await eventually(scanned_again(apps, 5))
        assert await created(app_a, "dossier.step.overdue.v1") == 1
        events = distinct(await read_events(settings.kafka, CODE, expect=2))
        assert types(events) == ["dossier.route.planned.v1", "dossier.step.overdue.v1"]
        assert late_step.data["unit"] == TAN_HOA_DESK
        assert late_step.data["due_date"] == "2026-03-03"

        overdue_view = (await first.get("/v1/overdue")).json()
        [unit] = overdue_view["units"]
        assert (unit["unit"], unit["late"]) == (TAN_HOA_DESK, 1)
        assert unit["dossiers"][0]["step_lateness"] == "late"

        # Past the appointment date: the dossier is flagged late; nothing is invented (the
        # apology, Mẫu 04, is the late unit's to issue before the date).
        appointment = planned["appointment_date"]
        await eventually(lambda: settled(apps))
        clock.set(MONDAY_9AM + timedelta(days=30))
        await eventually(scanned_again(apps, 5))
        assert await created(app_a, "dossier.overdue.v1") == 1
        assert await created(app_b, "dossier.step.overdue.v1") == 1
        events = distinct(await read_events(settings.kafka, CODE, expect=3))
        assert types(events) == [
            "dossier.route.planned.v1",
            "dossier.step.overdue.v1",
            "dossier.overdue.v1",
        ]
        late = events[2].data
        today = calendar.local_date(clock.now())
        assert late["appointment_date"] == appointment < today.isoformat()
        assert late["new_appointment_date"] is None and late["apology"] is None
        assert late["unit"] == TAN_HOA_DESK
        assert (late["apologised"], late["missed_new_date"]) == (False, False)
        # Stepping both schedulers by hand at once finds nothing left to raise.
        scans = [app.state.scheduler.scan(clock.now() + timedelta(days=60)) for app in apps]
        assert await asyncio.gather(*scans) == [0, 0]
        dossier = (await first.get(f"/v1/dossiers/{CODE}")).json()
        assert dossier["appointment_date"] == appointment
        assert dossier["original_appointment_date"] == appointment


async def test_two_instances_remind_each_step_due_soon_exactly_once(
    common_settings: CommonSettings,
) -> None:
    clock = ManualClock(MONDAY_9AM)
    settings = routing_settings(common_settings, scan_s=0.02, due_soon_days=1)
    async with AsyncExitStack() as stack:
        first, app_a = await stack.enter_async_context(routing_app(settings, clock))
        _, app_b = await stack.enter_async_context(routing_app(settings, clock))
        pub = await stack.enter_async_context(publisher(settings.kafka))
        apps = [app_a, app_b]
        reminders = "dossier.step.due_soon.v1"

        # Received Monday: the desk's one-day step is due Tuesday, one working day away.
        await receive(pub, first, SOON)
        await eventually(lambda: created(app_a, reminders, SOON))
        await eventually(scanned_again(apps, 5))
        assert await created(app_b, reminders, SOON) == 1

        # The desk sends it on; the district's 7-day step is due Wednesday 11 March.
        body = {"unit": TAN_HOA_DESK, "outcome": "approve"}
        sent = await first.post(f"/v1/dossiers/{SOON}/step/complete", json=body)
        assert sent.status_code == 200, sent.text
        assert sent.json()["dossier"]["steps"][1]["due_date"] == "2026-03-11"
        clock.set(MONDAY_9AM + timedelta(days=7))  # Monday 9 March: two working days left
        await eventually(scanned_again(apps, 5))
        assert await created(app_a, reminders, SOON) == 1

        clock.set(MONDAY_9AM + timedelta(days=8))  # Tuesday 10 March: one left
        await eventually(lambda: _reminded(app_a, SOON, 2))
        clock.set(MONDAY_9AM + timedelta(days=9))  # due today: no second reminder, not late
        await eventually(scanned_again(apps, 5))
        assert await created(app_b, reminders, SOON) == 2
        assert await created(app_b, "dossier.step.overdue.v1", SOON) == 0
        scans = [app.state.scheduler.scan(clock.now()) for app in apps]
        assert await asyncio.gather(*scans) == [0, 0]

        await eventually(lambda: settled(apps))
        events = distinct(await read_events(settings.kafka, SOON, expect=5))
        assert types(events) == [
            "dossier.route.planned.v1",
            reminders,
            "dossier.step.completed.v1",
            "dossier.transfer.requested.v1",
            reminders,
        ]
        desk, district = events[1].data, events[4].data
        assert (desk["step_index"], desk["unit"], desk["due_date"]) == (
            0,
            TAN_HOA_DESK,
            "2026-03-03",
        )
        assert (desk["working_days_left"], desk["state"]) == (1, "PROCESSING")
        # The hand-over is still pending: the receiver is the unit that must act.
        assert (district["step_index"], district["unit"]) == (1, DISTRICT_COMMITTEE)
        assert (district["due_date"], district["working_days_left"]) == ("2026-03-11", 1)
        assert (district["state"], district["holding_unit"]) == ("IN_TRANSFER", TAN_HOA_DESK)
        assert district["detected_at"].startswith("2026-03-10T02:00:00")


async def _reminded(app: FastAPI, code: str, n: int) -> bool:
    return await created(app, "dossier.step.due_soon.v1", code) >= n
