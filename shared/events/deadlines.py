"""Due dates on ``dossier.events`` (emitted by routing): a step due soon or overdue, the
late unit's apology with a new appointment (Mẫu 04), the dossier past its appointment.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, ClassVar

from pydantic import Field

from shared.events.dossier import (
    CalendarVersion,
    DossierFact,
    UnitCode,
)
from shared.events.personal import InClear, PersonalText
from shared.events.registry import ContractModel, register


@register
class StepDueSoon(DossierFact):
    """A step's due date is near and the unit must act (raised once per step)."""

    EVENT_TYPE: ClassVar[str] = "dossier.step.due_soon.v1"
    step_index: int
    unit: UnitCode = Field(description="The unit that must act on the step.")
    due_date: date
    working_days_left: int = Field(ge=0, description="Working days after today up to the due date.")
    detected_at: datetime
    appointment_date: date | None = Field(
        None, description="The appointment: a unit that will be late apologises (Mẫu 04) before."
    )


@register
class StepOverdue(DossierFact):
    """A step passed its due date (raised once per step)."""

    EVENT_TYPE: ClassVar[str] = "dossier.step.overdue.v1"
    step_index: int
    unit: UnitCode
    due_date: date
    detected_at: datetime


class ApologyNotice(ContractModel):
    """Data of the apology letter and new appointment (form Mẫu 04), from the late unit."""

    form: Annotated[str, InClear("the form's name")] = "Mẫu 04"
    issuing_unit: UnitCode
    reason: PersonalText
    original_appointment_date: date
    new_appointment_date: date
    number: int = Field(1, ge=1, description="1 for the first apology of the dossier, then 2...")
    issued_at: datetime | None = None
    due_by: date | None = Field(
        None,
        description="The last day the apology was on time: one working day before the "
        "appointment it moves (since contracts 3.0).",
    )
    late: bool = Field(
        False,
        description="Issued after `due_by` (on the appointment day or after it): taken, "
        "since the duty to apologise and give a new date remains, and recorded as late "
        "(since contracts 3.0).",
    )


@register
class ApologyIssued(DossierFact):
    """The unit that will be late (or is) apologised and set a new date (Mẫu 04); due one
    working day before the appointment, taken later too and then marked ``late``."""

    EVENT_TYPE: ClassVar[str] = "dossier.apology.issued.v1"
    unit: UnitCode
    issued_at: datetime
    apology: ApologyNotice
    calendar_version: CalendarVersion | None = None


@register
class DossierOverdue(DossierFact):
    """The dossier passed its appointment date (raised once per appointment date).

    Since 2026-12 no apology is made up here: the late unit issues one before the date
    (``dossier.apology.issued.v1``). ``apologised`` says whether it did; ``missed_new_date``
    flags a dossier that also missed the date its apology gave.
    """

    EVENT_TYPE: ClassVar[str] = "dossier.overdue.v1"
    appointment_date: date
    new_appointment_date: date | None = None
    detected_at: datetime
    apology: ApologyNotice | None = None
    unit: UnitCode | None = Field(None, description="The unit the dossier is late at.")
    apologised: bool = Field(False, description="The late unit apologised before the date.")
    missed_new_date: bool = Field(False, description="The date an apology gave was missed too.")
