"""Builders for the legal-rule tests: the same dossier in both hierarchies (2019 and July 2025).

The routing builders (tests/unit/routing/builders.py) with the legal tests' defaults: a
judicial record, its configuration's desk, a named applicant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from routing.domain.model import Dossier

from shared.calendar import LOCAL_TZ
from shared.events.commands import AcceptTransfer, CompleteStep
from shared.events.dossier import ApplicantContact, StepOutcome
from shared.events.reception import DossierReceived
from tests.unit.routing import builders as routing_builders
from tests.unit.routing.builders import act, calendar, catalogue, context

__all__ = [  # the routing builders the legal tests use as they are
    "CONFIGURATIONS",
    "JUDICIAL",
    "LAND_FIRST",
    "UNITS",
    "Units",
    "act",
    "at",
    "at_department",
    "calendar",
    "catalogue",
    "context",
    "d",
    "hand_over",
    "received",
    "start",
]

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


def at(month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    """A local (Asia/Ho_Chi_Minh) moment in 2026."""
    return datetime(2026, month, day, hour, minute, tzinfo=LOCAL_TZ)


def d(month: int, day: int) -> date:
    return date(2026, month, day)


def received(
    configuration: str,
    when: datetime,
    procedure: str = JUDICIAL,
    area_unit: str | None = None,
    unit: str | None = None,
) -> DossierReceived:
    """A named applicant's dossier received at the configuration's desk (or ``unit``)."""
    return routing_builders.received(
        procedure=procedure,
        unit=unit or UNITS[configuration].desk,
        at=when,
        configuration=configuration,
        area_unit=area_unit,
        applicant=ApplicantContact(name="Nguyễn Văn A", identity_hash="b" * 64),
        documents=[routing_builders.document("Tờ khai", "request_form")],
    )


def start(event: DossierReceived, configuration: str) -> Dossier:
    return routing_builders.start(event, configuration).dossier


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


def at_department(configuration: str) -> Dossier:
    """A judicial record received Monday 2 March 10:00, at the justice department from
    Tuesday 3 March 10:00."""
    dossier = start(received(configuration, at(3, 2, 10)), configuration)
    return hand_over(dossier, at(3, 3, 10), configuration)
