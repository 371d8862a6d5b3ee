"""Dates and moments taken from outside, bounded to what the code and the store handle.

Python's dates stop at year 1 and year 9999, and the store encodes a moment by its UTC
form. A value near either end made a route fail with 500: arithmetic on it overflowed
(routing's default window start, seven days before ``until``; the day after the end
of intake's log book), or its UTC form fell outside Python's dates
(``0001-01-01T00:00:00+01:00``) and could not be encoded. Every date or datetime a
route takes (query, path or body) is one of these types, so a value outside
1900-01-01..9000-12-31 (for a moment, in its own zone and in UTC) is a validation
error like a malformed one: 422 ``invalid_request`` naming the field, with the error
code ``date_out_of_range``. The bounds leave room for any offset and a few years of
arithmetic, and no dossier, unit or log entry lies outside them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime
from pydantic_core import PydanticCustomError

EARLIEST = date(1900, 1, 1)
LATEST = date(9000, 12, 31)
OUT_OF_RANGE = "date_out_of_range"


def _refuse_outside(day: date) -> None:
    if not EARLIEST <= day <= LATEST:
        raise PydanticCustomError(
            OUT_OF_RANGE,
            "Input should be between {earliest} and {latest}",
            {"earliest": EARLIEST.isoformat(), "latest": LATEST.isoformat()},
        )


def bounded_date(value: date) -> date:
    """``value`` if it lies within the bounds; else a validation error."""
    _refuse_outside(value)
    return value


def bounded_datetime(value: datetime) -> datetime:
    """``value`` if it lies within the bounds in its own zone and, when it has one, in
    UTC (the form the store encodes); else a validation error. A naive value is
    bounded as given: the route that needs a zone refuses it with its own code."""
    _refuse_outside(value.date())  # first: converting a moment near year 1 overflows
    if value.utcoffset() is not None:
        _refuse_outside(value.astimezone(UTC).date())
    return value


BoundedDate = Annotated[date, AfterValidator(bounded_date)]
"""A calendar date from outside, within 1900-01-01..9000-12-31."""
BoundedDatetime = Annotated[datetime, AfterValidator(bounded_datetime)]
"""A moment from outside, within the bounds in its zone and in UTC; naive allowed."""
AwareBoundedDatetime = Annotated[AwareDatetime, AfterValidator(bounded_datetime)]
"""A moment from outside that must name its zone (``timezone_aware`` otherwise)."""
