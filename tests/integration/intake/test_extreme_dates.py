"""Intake's dates at the ends of the calendar: 422 problems, never a 500.

The desk's log book (Mẫu 06) ending on 9999-12-31 overflowed computing the day after
its end, and one starting on 0001-01-01 is before year 1 in UTC (the desk's zone is
ahead of UTC), which the store cannot encode. The catalogue's ``in_force_on`` takes
the same dates. All are refused like a malformed date; the period's own rule keeps its
code (``invalid_period``)."""

from __future__ import annotations

import pytest

from tests.integration.intake.helpers import DESK, RunningIntake

LOG_BOOK = f"/v1/units/{DESK}/forms/06"


@pytest.mark.parametrize(
    ("field", "params"),
    [
        ("start", {"start": "9999-12-30", "end": "9999-12-31"}),
        ("start", {"start": "0001-01-01", "end": "0001-01-02"}),
        ("end", {"start": "1900-01-01", "end": "0001-01-01"}),
    ],
)
async def test_the_log_book_refuses_periods_beyond_the_calendar(
    intake: RunningIntake, field: str, params: dict[str, str]
) -> None:
    refused = await intake.client.get(LOG_BOOK, params=params)

    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert (problem["code"], problem["field"]) == ("invalid_request", f"query.{field}")
    assert problem["errors"][0]["code"] == "date_out_of_range"


async def test_dates_at_the_bounds_are_answered(intake: RunningIntake) -> None:
    for start, end in [("1900-01-01", "1900-01-01"), ("9000-12-31", "9000-12-31")]:
        log = await intake.client.get(LOG_BOOK, params={"start": start, "end": end})
        assert log.status_code == 200, log.text
    backwards = await intake.client.get(
        LOG_BOOK, params={"start": "9000-12-31", "end": "1900-01-01"}
    )
    assert (backwards.status_code, backwards.json()["code"]) == (422, "invalid_period")
    for path in ("/v1/units", "/v1/procedures"):
        refused = await intake.client.get(path, params={"in_force_on": "0001-01-01"})
        assert (refused.status_code, refused.json()["field"]) == (422, "query.in_force_on")
        assert (await intake.client.get(path, params={"in_force_on": "9000-12-31"})).is_success
