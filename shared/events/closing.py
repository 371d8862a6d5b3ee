"""A dossier's end on ``dossier.events`` (emitted by routing): the result ready at the
returning desk, handed over (done), or processing stopped.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar, Literal

from pydantic import Field

from shared.events.dossier import (
    DossierFact,
    ResultDelivery,
    UnitCode,
)
from shared.events.personal import PersonalText
from shared.events.registry import register


@register
class ResultReady(DossierFact):
    """The result is back at the returning desk, ready to hand over."""

    EVENT_TYPE: ClassVar[str] = "dossier.result.ready.v1"
    unit: UnitCode
    ready_at: datetime
    outcome: Literal["approved", "rejected"]
    note: PersonalText | None = None
    result_delivery: ResultDelivery = Field(
        ResultDelivery.DESK, description="How the applicant gets the result."
    )
    due_date: date | None = Field(
        None, description="The returning desk's step due date (since contracts 3.0)."
    )
    on_time: bool | None = Field(
        None,
        description="The returning desk's rating for its step: the result was ready by the "
        "step's due date (since contracts 3.0; the step ends here, not at the hand-over).",
    )
    late: bool | None = Field(
        None,
        description="The agency was late: the result was ready after the appointment (as "
        "extended by supplement and payment pauses), or an overdue was raised (since "
        "contracts 3.0).",
    )


@register
class DossierDone(DossierFact):
    """The result was handed to the applicant.

    The agency's lateness rests on when it had the result ready (``result_ready_at``),
    not on the day the applicant came for it: a result collected after the appointment
    is recorded (``collected_after_appointment``) but does not make the dossier late.
    """

    EVENT_TYPE: ClassVar[str] = "dossier.done.v1"
    unit: UnitCode
    done_at: datetime = Field(description="When the result reached the applicant.")
    late: bool = Field(
        False,
        description="The agency was late: the result was ready (`result_ready_at`) after "
        "the appointment as extended by supplement and payment pauses, or an overdue was "
        "raised. Before contracts 3.0 this was judged on `done_at`, so an applicant "
        "collecting late made the dossier late.",
    )
    result_ready_at: datetime | None = Field(
        None,
        description="When the returning desk had the result ready "
        "(`dossier.result.ready.v1`), the moment the agency's timeliness is judged on "
        "(since contracts 3.0).",
    )
    collected_after_appointment: bool | None = Field(
        None,
        description="The applicant collected the result after the appointment date they "
        "were given (the current one, after any apology): recorded, not the agency's "
        "lateness (since contracts 3.0).",
    )


@register
class DossierStopped(DossierFact):
    """Processing was stopped, with the reason."""

    EVENT_TYPE: ClassVar[str] = "dossier.stopped.v1"
    unit: UnitCode
    stopped_at: datetime
    reason: PersonalText
