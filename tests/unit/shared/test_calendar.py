"""Working-day calendar: Vietnamese holidays, announced overrides, cut-off and counting rules."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.calendar import (
    DEFAULT_OVERRIDES_PATH,
    LOCAL_TZ,
    CalendarError,
    WorkingCalendar,
    calendar_from_dates,
    load_calendar,
)

CAL = load_calendar()  # built once: the shipped overrides file, pure afterwards


def local(y: int, m: int, d: int, hh: int = 9, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=LOCAL_TZ)


# --- which days are working days -------------------------------------------------------


def test_weekends_are_days_off_and_weekdays_work() -> None:
    assert not CAL.is_working_day(date(2026, 3, 7))  # Saturday
    assert not CAL.is_working_day(date(2026, 3, 8))  # Sunday
    assert CAL.is_working_day(date(2026, 3, 9))  # Monday


def test_tet_2026_is_off_from_16_to_20_february() -> None:
    tet = [date(2026, 2, 16) + timedelta(days=i) for i in range(5)]
    assert not any(CAL.is_working_day(d) for d in tet)
    assert CAL.is_working_day(date(2026, 2, 13))
    assert CAL.next_working_day(date(2026, 2, 13)) == date(2026, 2, 23)


def test_national_day_and_its_bridge_day_are_off() -> None:
    assert not CAL.is_working_day(date(2025, 9, 1))
    assert not CAL.is_working_day(date(2025, 9, 2))
    assert not CAL.is_working_day(date(2026, 8, 31))  # swapped with Saturday 2026-08-22


def test_make_up_saturdays_are_working_days() -> None:
    assert CAL.is_working_day(date(2025, 4, 26))  # known to the holidays package
    assert CAL.is_working_day(date(2026, 1, 10))  # only in the overrides file
    assert not calendar_from_dates().is_working_day(date(2026, 1, 10))


def test_extra_day_off_from_the_overrides() -> None:
    assert not CAL.is_working_day(date(2026, 1, 2))
    assert calendar_from_dates().is_working_day(date(2026, 1, 2))
    adhoc = calendar_from_dates(days_off=[date(2026, 3, 4)])
    assert not adhoc.is_working_day(date(2026, 3, 4))
    assert adhoc.add_working_days(date(2026, 3, 3), 1) == date(2026, 3, 5)


def test_shipped_overrides_file_is_versioned() -> None:
    data = json.loads(DEFAULT_OVERRIDES_PATH.read_text(encoding="utf-8"))
    assert data["schema"] == 1
    assert CAL.version == data["version"]
    assert all(entry["note"] for entry in data["extra_days_off"] + data["make_up_working_days"])


def test_bad_overrides_file_raises_calendar_error(tmp_path: Path) -> None:
    clash = {"date": "2026-03-04", "note": "x"}
    bad = {"schema": 1, "version": "t", "extra_days_off": [clash], "make_up_working_days": [clash]}
    path = tmp_path / "overrides.json"
    path.write_text(json.dumps(bad), encoding="utf-8")
    with pytest.raises(CalendarError, match="both off and worked"):
        load_calendar(path)
    with pytest.raises(CalendarError, match="cannot read"):
        load_calendar(tmp_path / "missing.json")


def test_dates_outside_the_year_range_are_refused() -> None:
    with pytest.raises(CalendarError, match="outside"):
        CAL.is_working_day(date(2040, 1, 2))
    assert WorkingCalendar(years=range(2040, 2042)).is_working_day(date(2040, 1, 3))


# --- reception day, cut-off and due dates ------------------------------------------------


def test_reception_before_cutoff_counts_from_the_next_working_day() -> None:
    received = local(2026, 3, 2, 10)  # Monday morning
    assert CAL.reception_day(received) == date(2026, 3, 2)
    assert CAL.clock_start(received) == date(2026, 3, 3)
    assert CAL.due_date(received, 3) == date(2026, 3, 5)


def test_reception_at_or_after_cutoff_is_treated_as_next_working_day() -> None:
    for late in (local(2026, 3, 2, 15, 0), local(2026, 3, 2, 16, 30)):
        assert CAL.reception_day(late) == date(2026, 3, 3)
        assert CAL.clock_start(late) == date(2026, 3, 4)
        assert CAL.due_date(late, 3) == date(2026, 3, 6)
    assert CAL.reception_day(local(2026, 3, 2, 14, 59)) == date(2026, 3, 2)


def test_cutoff_is_per_procedure() -> None:
    received = local(2026, 3, 2, 11, 30)
    assert CAL.reception_day(received, cutoff=time(11, 0)) == date(2026, 3, 3)
    assert CAL.reception_day(received, cutoff=time(15, 0)) == date(2026, 3, 2)


def test_reception_on_a_saturday_counts_from_monday() -> None:
    received = local(2026, 3, 7, 9)
    assert CAL.reception_day(received) == date(2026, 3, 9)
    assert CAL.clock_start(received) == date(2026, 3, 10)
    assert CAL.due_date(received, 3) == date(2026, 3, 12)


def test_reception_time_is_read_in_local_time() -> None:
    # 07:59 UTC is 14:59 in Hanoi/Ho Chi Minh City (UTC+7): still before the cut-off.
    assert CAL.reception_day(datetime(2026, 3, 2, 7, 59, tzinfo=UTC)) == date(2026, 3, 2)
    assert CAL.reception_day(datetime(2026, 3, 2, 8, 0, tzinfo=UTC)) == date(2026, 3, 3)
    # 20:00 UTC on Sunday is already Monday 03:00 local.
    assert CAL.reception_day(datetime(2026, 3, 1, 20, 0, tzinfo=UTC)) == date(2026, 3, 2)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        CAL.reception_day(datetime(2026, 3, 2, 10))


def test_zero_budget_is_due_on_the_reception_day() -> None:
    assert CAL.due_date(local(2026, 3, 2, 10), 0) == date(2026, 3, 2)
    assert CAL.due_date(local(2026, 3, 2, 16), 0) == date(2026, 3, 3)


def test_add_working_days_across_tet() -> None:
    assert CAL.add_working_days(date(2026, 2, 12), 3) == date(2026, 2, 24)
    assert CAL.due_date(local(2026, 2, 13, 16), 1) == date(2026, 2, 24)
    assert CAL.working_days_between(date(2026, 2, 13), date(2026, 2, 23)) == 1


def test_extend_by_pause_adds_working_days() -> None:
    due = date(2026, 2, 12)  # Thursday before Tết
    assert CAL.extend_by_pause(due, 0) == due
    assert CAL.extend_by_pause(due, 2) == date(2026, 2, 23)


def test_working_days_between_is_half_open_and_antisymmetric() -> None:
    assert CAL.working_days_between(date(2026, 3, 2), date(2026, 3, 2)) == 0
    assert CAL.working_days_between(date(2026, 3, 2), date(2026, 3, 9)) == 5
    assert CAL.working_days_between(date(2026, 3, 9), date(2026, 3, 2)) == -5


def test_negative_budget_is_refused() -> None:
    with pytest.raises(ValueError, match=">= 0"):
        CAL.add_working_days(date(2026, 3, 2), -1)


# --- properties -----------------------------------------------------------------------

days = st.dates(min_value=date(2020, 1, 1), max_value=date(2034, 6, 30))
budgets = st.integers(min_value=0, max_value=60)
moments = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2034, 6, 30), timezones=st.just(LOCAL_TZ)
)


@given(days, st.integers(min_value=1, max_value=60))
def test_added_days_land_on_a_working_day(d: date, n: int) -> None:
    assert CAL.is_working_day(CAL.add_working_days(d, n))


@given(days, budgets)
def test_add_working_days_is_strictly_monotonic(d: date, n: int) -> None:
    assert CAL.add_working_days(d, n) < CAL.add_working_days(d, n + 1)


@given(days, budgets)
def test_between_inverts_add(d: date, n: int) -> None:
    assert CAL.working_days_between(d, CAL.add_working_days(d, n)) == n


@given(days, budgets, budgets)
def test_add_composes(d: date, n: int, m: int) -> None:
    assert CAL.add_working_days(d, n + m) == CAL.add_working_days(CAL.add_working_days(d, n), m)


@given(days, days, days)
def test_between_is_additive(a: date, b: date, c: date) -> None:
    total = CAL.working_days_between(a, b) + CAL.working_days_between(b, c)
    assert total == CAL.working_days_between(a, c)


@given(moments, budgets)
def test_due_date_is_a_working_day_after_day_zero(received: datetime, n: int) -> None:
    day0 = CAL.reception_day(received)
    assert CAL.is_working_day(day0)
    assert day0 >= received.date()
    assert CAL.due_date(received, n) == CAL.add_working_days(day0, n)
    assert CAL.working_days_between(day0, CAL.clock_start(received)) == 1
    assert CAL.is_working_day(CAL.due_date(received, n))
