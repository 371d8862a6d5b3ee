"""Intake and routing read one set of catalogue and calendar settings: the same files."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from intake.config import IntakeSettings
from routing.config import RoutingSettings

from shared.settings import CalendarSettings


@pytest.mark.parametrize("variable", ["LT_CALENDAR_OVERRIDES", "LT_INTAKE_CALENDAR_OVERRIDES"])
def test_both_services_use_the_same_calendar_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, variable: str
) -> None:
    overrides = tmp_path / "overrides.json"
    monkeypatch.setenv(variable, str(overrides))
    monkeypatch.setenv("LT_CATALOGUE_CONFIGURATION", "two-level")
    monkeypatch.setenv("LT_CATALOGUE_DATA_DIR", str(tmp_path))
    intake, routing = IntakeSettings(), RoutingSettings()
    assert intake.calendar.overrides == routing.calendar.overrides == overrides
    assert intake.catalogue == routing.catalogue
    assert routing.catalogue.configuration == "two-level"
    assert routing.catalogue.data_dir == tmp_path


def test_the_calendar_loads_from_the_configured_file(tmp_path: Path) -> None:
    overrides = tmp_path / "overrides.json"
    day_off = {"date": "2027-03-03", "note": "test"}
    overrides.write_text(json.dumps({"schema": 1, "version": "t", "extra_days_off": [day_off]}))
    wednesday = date(2027, 3, 3)
    assert not CalendarSettings(overrides=overrides).load().is_working_day(wednesday)
    assert CalendarSettings().load().is_working_day(wednesday)  # the shipped file
