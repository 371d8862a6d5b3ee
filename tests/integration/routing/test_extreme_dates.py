"""Routing's dates at the ends of the calendar: 422 problems, never a 500.

``until=0001-01-01T00:00:00Z`` overflowed computing the flows' default start (seven
days before), and ``since=0001-01-01T00:00:00+01:00`` is before year 1 in UTC, which
the store cannot encode. Both are now refused like a malformed time; the window's own
rules keep their code (``bad_window``). An apology's new date beyond the working-day
calendar made the calendar raise; it is an ``invalid_new_date`` now."""

from __future__ import annotations

from shared.clock import ManualClock
from shared.runtime import CommonSettings
from tests.integration.routing.helpers import publisher, receive, routing_app, routing_settings
from tests.unit.routing.builders import MONDAY_9AM, TAN_HOA_DESK

CODE = "001.21.31.H59-260302-0009"

OUT_OF_RANGE = [
    ("until", {"until": "0001-01-01T00:00:00Z"}),
    ("since", {"since": "0001-01-01T00:00:00+01:00"}),
    ("since", {"since": "1899-12-31T23:00:00Z"}),
    ("until", {"until": "9999-12-31T23:00:00-05:00"}),
]


async def test_flows_refuse_windows_beyond_the_calendar(common_settings: CommonSettings) -> None:
    settings = routing_settings(common_settings, scan_s=30)
    async with routing_app(settings, ManualClock(MONDAY_9AM)) as (client, _):
        for field, params in OUT_OF_RANGE:
            refused = await client.get("/v1/flows", params=params)
            assert refused.status_code == 422, (params, refused.text)
            problem = refused.json()
            assert (problem["code"], problem["field"]) == ("invalid_request", f"query.{field}")
            assert problem["errors"][0]["code"] == "date_out_of_range"

        naive = await client.get("/v1/flows", params={"since": "2026-03-01T00:00:00"})
        assert (naive.status_code, naive.json()["code"]) == (422, "bad_window")
        earliest = await client.get("/v1/flows", params={"until": "1900-01-01T00:00:00Z"})
        assert earliest.status_code == 200, earliest.text


async def test_an_apology_for_a_day_beyond_the_calendar_is_refused(
    common_settings: CommonSettings,
) -> None:
    settings = routing_settings(common_settings, scan_s=30)
    clock = ManualClock(MONDAY_9AM)
    async with routing_app(settings, clock) as (client, _), publisher(settings.kafka) as pub:
        await receive(pub, client, CODE)
        # Fridays beyond the calendar's years: out of every date's bounds, or of its own.
        for new, code in (("9999-12-31", "invalid_request"), ("2099-03-20", "invalid_new_date")):
            body = {"unit": TAN_HOA_DESK, "reason": "Chờ xác minh", "new_appointment_date": new}
            refused = await client.post(f"/v1/dossiers/{CODE}/apology", json=body)
            assert refused.status_code == 422, refused.text
            assert refused.json()["code"] == code
