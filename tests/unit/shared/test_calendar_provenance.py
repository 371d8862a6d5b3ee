"""Calendar provenance: the pinned library, the recorded version, 24 November, the 2 January swap,
no cut-off, and counting back from an appointment (worked dates)."""

from __future__ import annotations

import json
import tomllib
from datetime import date, datetime
from pathlib import Path

import holidays
from packaging.specifiers import SpecifierSet

from shared.calendar import DEFAULT_OVERRIDES_PATH, HOLIDAYS_VERSION, LOCAL_TZ, load_calendar

CAL = load_calendar()
ROOT = Path(__file__).resolve().parents[3]


def test_holidays_is_pinned_to_one_minor_release_and_the_installed_one_is_in_it() -> None:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    [spec] = [d.removeprefix("holidays") for d in deps if d.startswith("holidays")]
    allowed = SpecifierSet(spec)
    assert allowed.contains(HOLIDAYS_VERSION)
    assert not allowed.contains("0.110") and not allowed.contains("0.108")


def test_provenance_names_library_and_overrides() -> None:
    overrides = json.loads(DEFAULT_OVERRIDES_PATH.read_text())["version"]
    assert CAL.provenance == f"holidays-{HOLIDAYS_VERSION}+overrides-{overrides}"


def test_24_november_is_decided_explicitly() -> None:
    assert CAL.is_working_day(date(2025, 11, 24))  # Monday: before Culture Day was a day off
    assert not CAL.is_working_day(date(2026, 11, 24))  # Tuesday: Vietnam Culture Day
    assert not CAL.is_working_day(date(2027, 11, 24))
    # The decision holds without the library knowing it: it is in our own data.
    notes = json.loads(DEFAULT_OVERRIDES_PATH.read_text())["extra_days_off"]
    assert {"2026-11-24", "2027-11-24"} <= {n["date"] for n in notes}
    # A 2-day budget received Monday 23/11/2026 09:00 skips the Tuesday: due Thursday.
    assert CAL.due_date(_at(2026, 11, 23), 2) == date(2026, 11, 26)


def test_the_2_january_2026_swap_is_official() -> None:
    notes = json.loads(DEFAULT_OVERRIDES_PATH.read_text())
    [off] = [n for n in notes["extra_days_off"] if n["date"] == "2026-01-02"]
    [worked] = [n for n in notes["make_up_working_days"] if n["date"] == "2026-01-10"]
    for note in (off["note"], worked["note"]):
        assert "12729/VPCP-KGVX" in note and "llustrative" not in note
    assert "ILLUSTRATIVE" not in notes["description"]
    # Received Wednesday 31/12/2025 09:00 with 3 days: 02/01 off, Saturday 10/01 worked.
    assert CAL.due_date(_at(2025, 12, 31), 3) == date(2026, 1, 7)
    assert CAL.due_date(_at(2026, 1, 8), 2) == date(2026, 1, 10)


def test_library_and_overrides_agree_where_both_speak() -> None:
    vietnam = holidays.country_holidays("VN", years=range(2025, 2028))
    data = json.loads(DEFAULT_OVERRIDES_PATH.read_text())
    for entry in data["extra_days_off"]:
        day = date.fromisoformat(entry["date"])
        assert day not in vietnam.weekend_workdays
    for entry in data["make_up_working_days"]:
        assert date.fromisoformat(entry["date"]) not in vietnam


def test_no_cutoff_counts_the_same_day() -> None:
    late = _at(2026, 3, 2, 16)
    assert CAL.reception_day(late) == date(2026, 3, 3)
    assert CAL.reception_day(late, cutoff=None) == date(2026, 3, 2)
    assert CAL.reception_day(_at(2026, 3, 7, 9), cutoff=None) == date(2026, 3, 9)  # Saturday


def test_subtract_working_days_inverts_add() -> None:
    assert CAL.subtract_working_days(date(2026, 3, 16), 1) == date(2026, 3, 13)  # Mon -> Fri
    assert CAL.subtract_working_days(date(2026, 2, 23), 1) == date(2026, 2, 13)  # over Tết
    assert CAL.subtract_working_days(date(2026, 3, 8), 0) == date(2026, 3, 6)  # Sunday -> Fri
    for start in (date(2026, 1, 5), date(2026, 2, 12), date(2026, 4, 24)):
        for n in range(0, 12):
            assert CAL.subtract_working_days(CAL.add_working_days(start, n), n) == start


def _at(y: int, m: int, d: int, hh: int = 9) -> datetime:
    return datetime(y, m, d, hh, tzinfo=LOCAL_TZ)
