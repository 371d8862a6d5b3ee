"""A dossier's route and the hand-overs along it on ``dossier.events`` (emitted by routing):
the route planned, a transfer requested, accepted (with its receipt) or refused, a step
completed.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, ClassVar

from pydantic import Field

from shared.events.dossier import (
    CalendarVersion,
    DossierCode,
    DossierFact,
    StepOutcome,
    UnitCode,
)
from shared.events.personal import Code, DocumentsHash, InClear, PersonalText
from shared.events.registry import ContractModel, register


class RouteStep(ContractModel):
    """One planned step of a dossier's route, resolved to a concrete unit."""

    index: int = Field(ge=0)
    name: Annotated[str, InClear("the step's name in the procedure catalogue")]
    unit: UnitCode
    budget_days: int = Field(ge=0)
    redirected_from: UnitCode | None = Field(
        None, description="The unit the route named, when it was merged into `unit`."
    )


@register
class DossierRoutePlanned(DossierFact):
    """Routing resolved the procedure's route for this dossier and started its first step."""

    EVENT_TYPE: ClassVar[str] = "dossier.route.planned.v1"
    steps: list[RouteStep]
    current_step: int
    step_due_date: date
    calendar_version: CalendarVersion | None = None
    area_unit: UnitCode | None = Field(
        None, description="The applicant's area the deciding units were resolved from."
    )


@register
class TransferRequested(DossierFact):
    """A unit handed the dossier over to another; the receiver must accept or refuse."""

    EVENT_TYPE: ClassVar[str] = "dossier.transfer.requested.v1"
    transfer_id: Code
    step_index: int
    step_name: Annotated[str, InClear("the step's name in the procedure catalogue")]
    from_unit: UnitCode
    to_unit: UnitCode
    requested_at: datetime
    step_due_date: date = Field(
        description="Own budget from the hand-over, never later than the appointment allows."
    )
    documents_hash: DocumentsHash
    redirected_from: UnitCode | None = None
    calendar_version: CalendarVersion | None = None


class HandoverReceipt(ContractModel):
    """Binds dossier, step, both units, time and documents: who held the dossier when."""

    receipt_id: Code
    dossier_code: DossierCode
    step_index: int
    from_unit: UnitCode
    to_unit: UnitCode
    accepted_at: datetime
    documents_hash: DocumentsHash


@register
class TransferAccepted(DossierFact):
    """The receiving unit accepted the hand-over and now holds the dossier."""

    EVENT_TYPE: ClassVar[str] = "dossier.transfer.accepted.v1"
    transfer_id: Code
    step_index: int
    from_unit: UnitCode
    to_unit: UnitCode
    accepted_at: datetime
    receipt: HandoverReceipt


@register
class TransferRefused(DossierFact):
    """The receiving unit refused the hand-over; the dossier goes back with the reason."""

    EVENT_TYPE: ClassVar[str] = "dossier.transfer.refused.v1"
    transfer_id: Code
    step_index: int
    from_unit: UnitCode
    to_unit: UnitCode
    refused_at: datetime
    reason: PersonalText


@register
class StepCompleted(DossierFact):
    """The holding unit completed its step with an outcome."""

    EVENT_TYPE: ClassVar[str] = "dossier.step.completed.v1"
    step_index: int
    unit: UnitCode
    outcome: StepOutcome
    completed_at: datetime
    note: PersonalText | None = None
    due_date: date | None = Field(None, description="The step's due date.")
    on_time: bool | None = Field(
        None, description="The unit's rating for this step: completed by its due date."
    )
