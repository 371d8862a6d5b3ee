"""Dates and moments from outside: refused outside 1900-01-01..9000-12-31 (in UTC too),
as a validation problem (422 ``invalid_request``), never an overflow or a store error."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from typing import Annotated

import httpx
import pytest
from fastapi import FastAPI, Query
from pydantic import TypeAdapter, ValidationError

from shared.http import install_error_handlers
from shared.time_bounds import (
    EARLIEST,
    LATEST,
    OUT_OF_RANGE,
    AwareBoundedDatetime,
    BoundedDate,
    BoundedDatetime,
)

DATES = TypeAdapter(BoundedDate)
MOMENTS = TypeAdapter(BoundedDatetime)
AWARE_MOMENTS = TypeAdapter(AwareBoundedDatetime)


def refusal_type(adapter: TypeAdapter[date] | TypeAdapter[datetime], value: str) -> str:
    with pytest.raises(ValidationError) as refused:
        adapter.validate_python(value)
    return str(refused.value.errors()[0]["type"])


@pytest.mark.parametrize("value", ["1900-01-01", "2026-11-26", "9000-12-31"])
def test_dates_within_the_bounds_are_kept(value: str) -> None:
    assert DATES.validate_python(value) == date.fromisoformat(value)


@pytest.mark.parametrize("value", ["0001-01-01", "1899-12-31", "9001-01-01", "9999-12-31"])
def test_dates_outside_the_bounds_are_refused(value: str) -> None:
    assert refusal_type(DATES, value) == OUT_OF_RANGE


@pytest.mark.parametrize(
    "value",
    [
        "1900-01-01T00:00:00Z",
        "1900-01-01T00:00:00-05:00",  # 05:00 UTC: still within
        "9000-12-31T23:59:59Z",
        "9000-12-31T23:00:00+07:00",
        "2026-11-26T09:00:00",  # naive: kept, for the route to refuse with its own code
    ],
)
def test_moments_within_the_bounds_in_their_zone_and_in_utc_are_kept(value: str) -> None:
    assert MOMENTS.validate_python(value) == datetime.fromisoformat(value)


@pytest.mark.parametrize(
    "value",
    [
        "0001-01-01T00:00:00Z",
        "0001-01-01T00:00:00+01:00",  # its UTC form is before year 1: nothing can encode it
        "1900-01-01T00:00:00+01:00",  # 1899-12-31 in UTC
        "9000-12-31T23:00:00-05:00",  # 9001-01-01 in UTC
        "9999-12-31T23:00:00-05:00",  # its UTC form is after year 9999
        "9999-12-31T23:59:59",
    ],
)
def test_moments_outside_the_bounds_in_their_zone_or_in_utc_are_refused(value: str) -> None:
    assert refusal_type(MOMENTS, value) == OUT_OF_RANGE
    assert refusal_type(AWARE_MOMENTS, value) in (OUT_OF_RANGE, "timezone_aware")


def test_a_moment_that_must_name_its_zone_is_refused_without_one() -> None:
    assert refusal_type(AWARE_MOMENTS, "2026-11-26T09:00:00") == "timezone_aware"
    assert AWARE_MOMENTS.validate_python("2026-11-26T09:00:00+07:00").utcoffset() == timedelta(
        hours=7
    )


def test_the_bounds_leave_room_for_a_week_of_arithmetic_and_any_offset() -> None:
    earliest = datetime.combine(EARLIEST, datetime.min.time())
    latest = datetime.combine(LATEST, datetime.max.time())
    assert (earliest - timedelta(days=8)).year > 1 and (latest + timedelta(days=8)).year < 9999


def window_app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/window")
    async def window(
        since: Annotated[BoundedDatetime | None, Query()] = None,
        day: Annotated[BoundedDate | None, Query()] = None,
    ) -> dict[str, str]:
        return {"since": str(since), "day": str(day)}

    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=window_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        yield c


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "0001-01-01T00:00:00+01:00"}, "query.since"),
        ({"since": "9999-12-31T23:00:00-05:00"}, "query.since"),
        ({"day": "0001-01-01"}, "query.day"),
        ({"day": "9999-12-31"}, "query.day"),
    ],
)
async def test_a_value_out_of_range_is_a_validation_problem(
    client: httpx.AsyncClient, params: dict[str, str], field: str
) -> None:
    response = await client.get("/window", params=params)

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert (problem["code"], problem["field"]) == ("invalid_request", field)
    assert problem["errors"][0]["code"] == OUT_OF_RANGE
    assert "1900-01-01" in problem["detail"] and "9000-12-31" in problem["detail"]
