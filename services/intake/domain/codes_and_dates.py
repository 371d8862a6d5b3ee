"""Dossier codes (one daily sequence per agency) and the appointment date."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from shared.calendar import WorkingCalendar
from shared.catalogue.model import Procedure
from shared.refusals import Refused

MAX_DAILY_SEQUENCE = 9999
DOSSIER_CODE_PATTERN = re.compile(r"^(\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2})-(\d{6})-(\d{4})$")


def sequence_name(agency: str, local_day: date) -> str:
    """The counter behind one agency's codes of one local day."""
    return f"{agency}-{local_day:%y%m%d}"


def format_dossier_code(agency: str, local_day: date, seq: int) -> str:
    """``{agency}-{YYMMDD}-{NNNN}``; the daily sequence runs 1..9999."""
    if not 1 <= seq <= MAX_DAILY_SEQUENCE:
        raise Refused(
            "daily_sequence_exhausted",
            f"{agency} has used all {MAX_DAILY_SEQUENCE} codes of {local_day}",
            field="receiving_unit",
        )  # fmt: skip
    return f"{sequence_name(agency, local_day)}-{seq:04d}"


@dataclass(frozen=True)
class Appointment:
    """Day 1 of the budget and the appointment date (phiếu hẹn)."""

    clock_starts_on: date
    appointment_date: date


def appointment(calendar: WorkingCalendar, procedure: Procedure, at: datetime) -> Appointment:
    """Count the procedure's total budget in working days from reception at ``at``."""
    return Appointment(
        clock_starts_on=calendar.clock_start(at, procedure.intake_cutoff),
        appointment_date=calendar.due_date(
            at, procedure.total_budget_days, procedure.intake_cutoff
        ),
    )
