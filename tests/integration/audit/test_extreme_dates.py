"""The auditor's entry search at the ends of the calendar: 422 problems, never a 500.

``since=0001-01-01T00:00:00+01:00`` is before year 1 in UTC, which the store cannot
encode: the search answered 500. It is refused like a malformed time now; a naive
time keeps its own code (``naive_time``)."""

from __future__ import annotations

from audit.config import AuditSettings
from audit.main import create_app

from shared.clock import ManualClock
from shared.testing import ActAs, running_app

ENTRIES = "/v1/audit/entries"


async def test_entries_refuse_times_beyond_the_calendar(
    audit_settings: AuditSettings, clock: ManualClock
) -> None:
    async with running_app(create_app(audit_settings, clock), ActAs("auditor")) as client:
        for field, value in [
            ("since", "0001-01-01T00:00:00+01:00"),
            ("until", "9999-12-31T23:00:00-05:00"),
            ("until", "0001-01-01T00:00:00Z"),
        ]:
            refused = await client.get(ENTRIES, params={field: value})
            assert refused.status_code == 422, (field, value, refused.text)
            problem = refused.json()
            assert (problem["code"], problem["field"]) == ("invalid_request", f"query.{field}")
            assert problem["errors"][0]["code"] == "date_out_of_range"

        naive = await client.get(ENTRIES, params={"since": "2026-11-26T00:00:00"})
        assert (naive.status_code, naive.json()["code"]) == (422, "naive_time")
        within = await client.get(ENTRIES, params={"since": "1900-01-01T00:00:00Z"})
        assert within.status_code == 200, within.text
