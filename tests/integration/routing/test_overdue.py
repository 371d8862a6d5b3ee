"""Deadlines with two routing instances: each overdue fact is raised exactly once."""

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
from tests.unit.routing.builders import MONDAY_9AM, TAN_HOA_DESK

CODE = "001.21.31.H59-260302-0021"


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


async def created(app: FastAPI, event_type: str) -> int:
    """How many events of a type routing wrote to its outbox for the dossier."""
    entries = await app.state.runtime.outbox.entries_for(CODE)
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

        # Past the appointment date: the dossier is late, with a new date and an apology.
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
        assert late["appointment_date"] == appointment
        assert late["new_appointment_date"] > today.isoformat()
        assert late["apology"]["form"] == "Mẫu 04"
        assert late["apology"]["issuing_unit"] == TAN_HOA_DESK
        assert late["apology"]["new_appointment_date"] == late["new_appointment_date"]
        # Stepping both schedulers by hand at once finds nothing left to raise.
        scans = [app.state.scheduler.scan(clock.now() + timedelta(days=60)) for app in apps]
        assert await asyncio.gather(*scans) == [0, 0]
        dossier = (await first.get(f"/v1/dossiers/{CODE}")).json()
        assert dossier["appointment_date"] == late["new_appointment_date"]
        assert dossier["original_appointment_date"] == appointment
