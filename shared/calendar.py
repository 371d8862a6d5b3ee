"""Working-day calendar for administrative deadlines (pure arithmetic; one loader reads a file).

A **working day** is Monday to Friday, unless it is a Vietnamese public holiday (the
``holidays`` package's ``Vietnam`` calendar: Tết, Hùng Kings, 30/4, 1/5, National Day,
and the substituted days it knows) or an extra day off announced by the government;
any **make-up working day** (a Saturday worked in exchange for a bridge day, from the
``holidays`` package or from the overrides) is a working day whatever the weekday.
Overrides live as data in ``data/calendar/overrides.json``.

Provenance: a due date depends on the ``holidays`` release (pinned to one minor version
in ``pyproject.toml``, since each release may add days, as 0.8x added 24 November) and on
the overrides' version. ``WorkingCalendar.provenance`` names both
(``holidays-0.109+overrides-2026.11.3``); every due date the platform publishes records
it (``calendar_version`` in the events). See ``docs/legal.md`` for the sources.

Counting rule (Vietnamese one-stop practice: the day of reception is not counted):

* The **reception day** (day 0) is the local date of reception (Asia/Ho_Chi_Minh) when
  that date is a working day and the time is before the cut-off (15:00 by default,
  per procedure; ``cutoff=None`` for procedures done on receipt, and for internal
  hand-overs). Otherwise (after the cut-off, or on a non-working day) the dossier is
  treated as received on the next working day, which becomes day 0.
* Day 1 is the first working day after day 0 (``clock_start``).
* A budget of ``n`` working days is due at the end of day ``n``:
  ``due_date = add_working_days(reception_day, n)``; ``n = 0`` means the same day.

Example: a 3-day budget received Monday 2026-03-02 at 10:00 is due Thursday 03-05
(day 1 = Tuesday); received the same Monday at 16:00, day 0 is Tuesday and it is due
Friday 03-06; received Saturday 03-07, day 0 is Monday 03-09 and it is due Thursday
03-12. ``add_working_days(d, n)`` is the n-th working day strictly after ``d`` and
``working_days_between(a, b)`` counts working days in ``(a, b]``, so
``working_days_between(d, add_working_days(d, n)) == n``; ``subtract_working_days(d, n)``
is the working day ``n`` working days before ``d``, so a step that must leave ``n`` days
to the steps after it is due ``subtract_working_days(appointment, n)``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta, tzinfo
from functools import cached_property
from importlib import metadata
from pathlib import Path
from zoneinfo import ZoneInfo

import holidays
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

HOLIDAYS_VERSION = metadata.version("holidays")
LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
DEFAULT_CUTOFF = time(15, 0)
DEFAULT_YEARS = range(2019, 2036)
DEFAULT_OVERRIDES_PATH = Path(__file__).resolve().parent.parent / "data/calendar/overrides.json"

_ONE_DAY = timedelta(days=1)
_SATURDAY = 5


class CalendarError(ValueError):
    """Bad override data, or a date outside the calendar's year range."""


class OverrideDay(BaseModel):
    """One announced exception to the regular week, with why."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    date: date
    note: str = Field(min_length=1)


class CalendarOverrides(BaseModel):
    """The government's yearly announcements, kept as versioned data."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    schema_version: int = Field(1, alias="schema")
    version: str
    description: str = ""
    extra_days_off: tuple[OverrideDay, ...] = ()
    make_up_working_days: tuple[OverrideDay, ...] = ()

    @model_validator(mode="after")
    def _no_day_both_off_and_worked(self) -> CalendarOverrides:
        clash = {o.date for o in self.extra_days_off} & {m.date for m in self.make_up_working_days}
        if clash:
            raise ValueError(f"dates both off and worked: {sorted(map(str, clash))}")
        return self


class WorkingCalendar:
    """Vietnamese working days over a fixed range of years; immutable once built."""

    def __init__(
        self,
        overrides: CalendarOverrides | None = None,
        *,
        years: range = DEFAULT_YEARS,
        tz: tzinfo = LOCAL_TZ,
    ) -> None:
        self._overrides = overrides or CalendarOverrides(version="none")
        self._years = years
        self.tz = tz

    @property
    def version(self) -> str:
        """Version of the override data in use."""
        return self._overrides.version

    @property
    def provenance(self) -> str:
        """Library release and override version behind every date: recorded with due dates."""
        return f"holidays-{HOLIDAYS_VERSION}+overrides-{self._overrides.version}"

    @cached_property
    def _vietnam(self) -> holidays.HolidayBase:
        # Built on first use: computing 17 years of lunar holidays is not free. Same
        # data as holidays.Vietnam(years=...), through the typed factory.
        return holidays.country_holidays("VN", years=self._years, expand=False)

    @cached_property
    def _days_off(self) -> frozenset[date]:
        extra = (o.date for o in self._overrides.extra_days_off)
        return frozenset(self._vietnam.keys()) | frozenset(extra)

    @cached_property
    def _make_up_days(self) -> frozenset[date]:
        # The holidays package knows some swapped Saturdays itself (weekend_workdays).
        known = frozenset(self._vietnam.weekend_workdays)
        return known | frozenset(m.date for m in self._overrides.make_up_working_days)

    def covers(self, d: date) -> bool:
        """Whether ``d`` lies in the calendar's years (any other day raises ``CalendarError``)."""
        return d.year in self._years

    def _check_range(self, d: date) -> None:
        if not self.covers(d):
            first, last = self._years[0], self._years[-1]
            raise CalendarError(f"{d} is outside the calendar's years {first}..{last}")

    def is_working_day(self, d: date) -> bool:
        """Whether public offices work on ``d``."""
        self._check_range(d)
        if d in self._make_up_days:
            return True
        return d.weekday() < _SATURDAY and d not in self._days_off

    def next_working_day(self, d: date) -> date:
        """The first working day strictly after ``d``."""
        d += _ONE_DAY
        while not self.is_working_day(d):
            d += _ONE_DAY
        return d

    def add_working_days(self, start: date, n: int) -> date:
        """The ``n``-th working day strictly after ``start`` (``start`` itself when n == 0)."""
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        self._check_range(start)
        for _ in range(n):
            start = self.next_working_day(start)
        return start

    def subtract_working_days(self, end: date, n: int) -> date:
        """The working day ``d`` with ``add_working_days(d, n) == end`` (``end`` working, n > 0).

        With ``n == 0`` it is ``end`` itself. A non-working ``end`` counts as the working
        day before it, so the result never lies after ``end``.
        """
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        self._check_range(end)
        d = end
        while not self.is_working_day(d):
            d -= _ONE_DAY
        for _ in range(n):
            d -= _ONE_DAY
            while not self.is_working_day(d):
                d -= _ONE_DAY
        return d

    def working_days_between(self, a: date, b: date) -> int:
        """Working days in ``(a, b]``; negative (minus those in ``(b, a]``) when b < a."""
        if b < a:
            return -self.working_days_between(b, a)
        self._check_range(a)
        self._check_range(b)
        count, d = 0, a + _ONE_DAY
        while d <= b:
            count += self.is_working_day(d)
            d += _ONE_DAY
        return count

    def local_date(self, moment: datetime) -> date:
        """The local calendar date of a timezone-aware moment."""
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError("moment must be timezone-aware")
        return moment.astimezone(self.tz).date()

    def reception_day(
        self,
        received_at: datetime,
        cutoff: time | None = DEFAULT_CUTOFF,
        tz: tzinfo | None = None,
    ) -> date:
        """Day 0: the reception date, moved to the next working day if late or on a day off.

        ``cutoff=None``: no cut-off (same-day procedures, internal hand-overs).
        """
        if received_at.tzinfo is None or received_at.utcoffset() is None:
            raise ValueError("received_at must be timezone-aware")
        local = received_at.astimezone(tz or self.tz)
        day = local.date()
        if self.is_working_day(day) and (cutoff is None or local.time() < cutoff):
            return day
        return self.next_working_day(day)

    def clock_start(
        self, received_at: datetime, cutoff: time | None = DEFAULT_CUTOFF, tz: tzinfo | None = None
    ) -> date:
        """Day 1: the first working day counted against the budget."""
        return self.next_working_day(self.reception_day(received_at, cutoff, tz))

    def due_date(
        self,
        received_at: datetime,
        budget_days: int,
        cutoff: time | None = DEFAULT_CUTOFF,
        tz: tzinfo | None = None,
    ) -> date:
        """The last working day of a ``budget_days`` budget (the end of day ``budget_days``)."""
        return self.add_working_days(self.reception_day(received_at, cutoff, tz), budget_days)

    def extend_by_pause(self, due: date, paused_working_days: int) -> date:
        """Push a due date back by the working days the clock stood still (supplement)."""
        return self.add_working_days(due, paused_working_days)


def parse_overrides(raw: str | bytes) -> CalendarOverrides:
    """Validate override JSON text, raising ``CalendarError`` with the reason."""
    try:
        return CalendarOverrides.model_validate(json.loads(raw))
    except (ValueError, ValidationError) as exc:
        raise CalendarError(f"invalid calendar overrides: {exc}") from exc


def load_calendar(
    path: Path | None = None, *, years: range = DEFAULT_YEARS, tz: tzinfo = LOCAL_TZ
) -> WorkingCalendar:
    """Build the calendar from an overrides file (default: the repo's ``data/calendar``)."""
    source = path or DEFAULT_OVERRIDES_PATH
    try:
        raw = source.read_bytes()
    except OSError as exc:
        raise CalendarError(f"cannot read calendar overrides {source}: {exc}") from exc
    return WorkingCalendar(parse_overrides(raw), years=years, tz=tz)


def calendar_from_dates(
    *, days_off: Iterable[date] = (), make_up_days: Iterable[date] = ()
) -> WorkingCalendar:
    """A calendar with ad-hoc overrides, for tests and what-if questions."""
    overrides = CalendarOverrides(
        version="ad-hoc",
        extra_days_off=tuple(OverrideDay(date=d, note="ad hoc") for d in days_off),
        make_up_working_days=tuple(OverrideDay(date=d, note="ad hoc") for d in make_up_days),
    )
    return WorkingCalendar(overrides)
