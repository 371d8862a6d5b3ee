"""Builders for the legal-rule tests: the same dossier in both hierarchies (2019 and July 2025)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import cache

from routing.domain.model import Context, Decision, Dossier
from routing.domain.route import resolve_route
from routing.domain.workflow import decide_command, decide_start

from shared.calendar import LOCAL_TZ, WorkingCalendar, load_calendar
from shared.catalogue import Catalogue, load_catalogue
from shared.events.commands import AcceptTransfer, CompleteStep, UnitCommand
from shared.events.dossier import (
    ApplicantContact,
    DocumentRef,
    DossierReceived,
    DossierState,
    StepOutcome,
    documents_hash,
)

JUDICIAL = "2.000488"  # judicial record: desk 1 + justice department 8 + desk 1 working days
LAND_FIRST = "1.004227"  # first land registration: desk 1 + commune 5 + land registry 12 + desk 2
CONFIGURATIONS = ("three-level", "two-level")


@dataclass(frozen=True)
class Units:
    """The units a journey meets in one configuration."""

    configuration: str
    desk: str  # a commune desk / service centre
    other_commune: str  # another commune's people's committee (an applicant's area)
    other_desk: str
    justice: str  # the province's department of justice


UNITS = {
    "three-level": Units(
        "three-level", "001.21.31.H59", "000.22.31.H59", "001.22.31.H59", "000.00.04.H59"
    ),
    "two-level": Units(
        "two-level", "000.01.61.H59", "000.00.62.H59", "000.01.62.H59", "000.00.04.X87"
    ),
}


@cache
def catalogue(configuration: str) -> Catalogue:
    return load_catalogue(configuration)


@cache
def calendar() -> WorkingCalendar:
    return load_calendar()


def at(month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    """A local (Asia/Ho_Chi_Minh) moment in 2026."""
    return datetime(2026, month, day, hour, minute, tzinfo=LOCAL_TZ)


def d(month: int, day: int) -> date:
    return date(2026, month, day)


def context(now: datetime, configuration: str, cause: str = "cause") -> Context:
    return Context(calendar(), catalogue(configuration), now, cause)


def received(
    configuration: str,
    when: datetime,
    procedure: str = JUDICIAL,
    area_unit: str | None = None,
    unit: str | None = None,
) -> DossierReceived:
    units = UNITS[configuration]
    desk = unit or units.desk
    proc = catalogue(configuration).procedure(procedure)
    docs = [DocumentRef(name="Tờ khai", type="request_form", size_bytes=10, sha256="a" * 64)]
    cal = calendar()
    return DossierReceived(
        dossier_code=f"{desk}-260302-0001",
        state=DossierState.RECEIVED,
        holding_unit=desk,
        procedure_code=procedure,
        procedure_version=proc.version,
        receiving_unit=desk,
        received_at=when,
        clock_starts_on=cal.clock_start(when, proc.intake_cutoff),
        appointment_date=cal.due_date(when, proc.total_budget_days, proc.intake_cutoff),
        total_budget_days=proc.total_budget_days,
        applicant=ApplicantContact(name="Nguyễn Văn A", identity_hash="b" * 64),
        documents=docs,
        documents_hash=documents_hash(docs),
        area_unit=area_unit,
        calendar_version=cal.provenance,
    )


def start(event: DossierReceived, configuration: str) -> Dossier:
    cat = catalogue(configuration)
    on = calendar().local_date(event.received_at)
    route = resolve_route(cat, event.procedure_code, event.receiving_unit, on, event.area_unit)
    ctx = context(event.received_at, configuration)
    return decide_start(event, route, cat.procedure(event.procedure_code), ctx).dossier


def act(dossier: Dossier, cmd: UnitCommand, when: datetime, configuration: str) -> Decision:
    return decide_command(dossier, cmd, context(when, configuration, f"{cmd.EVENT_TYPE}@{when}"))


def hand_over(dossier: Dossier, when: datetime, configuration: str) -> Dossier:
    """The holder completes its step at ``when`` and the next unit accepts at once."""
    done = act(
        dossier,
        CompleteStep(
            dossier_code=dossier.code, unit=dossier.holding_unit, outcome=StepOutcome.APPROVE
        ),
        when,
        configuration,
    ).dossier
    if done.transfer is None:
        return done
    accept = AcceptTransfer(dossier_code=done.code, unit=done.transfer.to_unit)
    return act(done, accept, when, configuration).dossier
