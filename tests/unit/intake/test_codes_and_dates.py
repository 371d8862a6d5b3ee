"""Dossier codes and appointment dates: format, daily sequence, local day, working days."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest
from intake.domain.codes_and_dates import (
    DOSSIER_CODE_PATTERN,
    MAX_DAILY_SEQUENCE,
    appointment,
    format_dossier_code,
    sequence_name,
)
from intake.problems import STATUS

from shared.calendar import LOCAL_TZ, calendar_from_dates, load_calendar
from shared.catalogue.loading import load_catalogue
from shared.refusals import Refused

CAL = load_calendar()
CATALOGUE = load_catalogue("three-level")
BIRTH = CATALOGUE.procedure("1.001193")  # 1 working day
MARRIAGE = CATALOGUE.procedure("1.000894")  # 5 working days
LAND = CATALOGUE.procedure("1.004227")  # 20 working days
DESK = "001.21.31.H59"


def local(y: int, m: int, d: int, hh: int = 9, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=LOCAL_TZ)


# --- codes ----------------------------------------------------------------------------


def test_code_is_agency_local_date_and_four_digit_sequence() -> None:
    code = format_dossier_code(DESK, date(2026, 11, 26), 7)
    assert code == "001.21.31.H59-261126-0007"
    assert DOSSIER_CODE_PATTERN.match(code)


def test_sequence_runs_from_1_to_9999() -> None:
    assert format_dossier_code(DESK, date(2026, 1, 2), 1).endswith("-260102-0001")
    assert format_dossier_code(DESK, date(2026, 1, 2), MAX_DAILY_SEQUENCE).endswith("-9999")
    for bad in (0, MAX_DAILY_SEQUENCE + 1):
        with pytest.raises(Refused) as caught:
            format_dossier_code(DESK, date(2026, 1, 2), bad)
        assert (caught.value.code, STATUS[caught.value.code]) == ("daily_sequence_exhausted", 503)


def test_one_counter_per_agency_and_day() -> None:
    names = {
        sequence_name(DESK, date(2026, 11, 26)),
        sequence_name(DESK, date(2026, 11, 27)),
        sequence_name("001.22.31.H59", date(2026, 11, 26)),
    }
    assert len(names) == 3


def test_the_code_date_is_the_local_date_in_vietnam() -> None:
    late_utc = datetime(2026, 11, 25, 17, 30, tzinfo=UTC)  # 00:30 on the 26th in Hà Nội
    assert CAL.local_date(late_utc) == date(2026, 11, 26)
    assert sequence_name(DESK, CAL.local_date(late_utc)) == f"{DESK}-261126"


@pytest.mark.parametrize(
    "code",
    ["001.21.31.H59-261126-001", "001.21.31.H59-2611260-0001", "x-261126-0001", "../etc"],
)
def test_malformed_codes_do_not_match(code: str) -> None:
    assert DOSSIER_CODE_PATTERN.match(code) is None


# --- appointment dates ----------------------------------------------------------------


def test_morning_reception_counts_from_the_next_working_day() -> None:
    due = appointment(CAL, MARRIAGE, local(2026, 3, 2, 10))  # Monday
    assert due.clock_starts_on == date(2026, 3, 3)
    assert due.appointment_date == date(2026, 3, 9)  # 5 working days: Tue..Mon


def test_reception_at_the_cutoff_moves_to_the_next_working_day() -> None:
    before = appointment(CAL, MARRIAGE, local(2026, 3, 2, 14, 59))
    at = appointment(CAL, MARRIAGE, local(2026, 3, 2, 15, 0))
    assert before.appointment_date == date(2026, 3, 9)
    assert at.clock_starts_on == date(2026, 3, 4)
    assert at.appointment_date == date(2026, 3, 10)


def test_cutoff_comes_from_the_procedure() -> None:
    early = MARRIAGE.model_copy(update={"cutoff": time(11, 0)})
    assert appointment(CAL, early, local(2026, 3, 2, 11, 30)).appointment_date == date(2026, 3, 10)
    late = local(2026, 3, 2, 11, 30)
    assert appointment(CAL, MARRIAGE, late).appointment_date == date(2026, 3, 9)


def test_birth_registration_is_done_on_receipt_without_cutoff() -> None:
    assert not BIRTH.cutoff_applies and BIRTH.intake_cutoff is None
    at = appointment(CAL, BIRTH, local(2026, 3, 2, 16, 30))  # Monday after 15:00
    assert at.clock_starts_on == date(2026, 3, 3)
    assert at.appointment_date == date(2026, 3, 3)  # 0 + 1 + 0 from Monday itself
    with_cutoff = BIRTH.model_copy(update={"cutoff_applies": True})
    assert appointment(CAL, with_cutoff, local(2026, 3, 2, 16, 30)).appointment_date == date(
        2026, 3, 4
    )


def test_weekend_reception_counts_from_monday() -> None:
    due = appointment(CAL, BIRTH, local(2026, 3, 7, 9))  # Saturday
    assert due.clock_starts_on == date(2026, 3, 10)
    assert due.appointment_date == date(2026, 3, 10)


def test_lunar_new_year_is_skipped() -> None:
    # Tết 2026: Monday 16 to Friday 20 February are days off.
    due = appointment(CAL, MARRIAGE, local(2026, 2, 13, 9))  # Friday before Tết
    assert due.clock_starts_on == date(2026, 2, 23)
    assert due.appointment_date == date(2026, 2, 27)
    late = appointment(CAL, MARRIAGE, local(2026, 2, 13, 15, 30))  # day 0 is after Tết
    assert (late.clock_starts_on, late.appointment_date) == (date(2026, 2, 24), date(2026, 3, 2))


def test_reception_during_tet_counts_from_after_tet() -> None:
    due = appointment(CAL, BIRTH, local(2026, 2, 17, 9))
    assert due.clock_starts_on == date(2026, 2, 24)


def test_national_day_and_the_announced_bridge_day_are_skipped() -> None:
    # 2026-08-31 (bridge, overrides) and 09-01/09-02 (National Day) are off.
    due = appointment(CAL, BIRTH, local(2026, 8, 28, 9))  # Friday
    assert due.appointment_date == date(2026, 9, 3)


def test_a_make_up_saturday_is_a_working_day() -> None:
    # Saturday 2026-08-22 is worked in exchange for Monday 2026-08-31.
    due = appointment(CAL, BIRTH, local(2026, 8, 21, 9))  # Friday
    assert due.clock_starts_on == date(2026, 8, 22)
    received_saturday = appointment(CAL, BIRTH, local(2026, 8, 22, 9))
    assert received_saturday.clock_starts_on == date(2026, 8, 24)


def test_overrides_are_data() -> None:
    received = local(2026, 3, 2, 10)  # Monday; 5 days normally end Monday 03-09
    day_off = calendar_from_dates(days_off=[date(2026, 3, 3)])
    swapped = calendar_from_dates(days_off=[date(2026, 3, 3)], make_up_days=[date(2026, 3, 7)])
    assert appointment(CAL, MARRIAGE, received).appointment_date == date(2026, 3, 9)
    assert appointment(day_off, MARRIAGE, received).appointment_date == date(2026, 3, 10)
    assert appointment(swapped, MARRIAGE, received).appointment_date == date(2026, 3, 9)


def test_long_budget_spans_weeks() -> None:
    due = appointment(CAL, LAND, local(2026, 11, 26, 9))  # Thursday
    assert CAL.working_days_between(date(2026, 11, 26), due.appointment_date) == 20
    assert due.appointment_date == date(2026, 12, 24)


def test_every_procedure_gets_an_appointment_on_a_working_day() -> None:
    for procedure in CATALOGUE.procedures:
        for hour in (8, 16):
            due = appointment(CAL, procedure, local(2026, 12, 31, hour))
            assert CAL.is_working_day(due.clock_starts_on)
            assert CAL.is_working_day(due.appointment_date)
            assert due.appointment_date >= CAL.reception_day(local(2026, 12, 31, hour))
