"""Commands from units and agency systems, on ``dossier.commands`` keyed by dossier code.

A command is a request, not a fact: routing validates it against the state machine
and the acting unit, then either emits the resulting facts or
``dossier.command.refused.v1`` naming the command (its envelope id), defined here
though it is published on ``dossier.events``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, field_validator

from shared.events.dossier import BroughtDocument, DossierCode, StepOutcome, UnitCode
from shared.events.operations import Operator
from shared.events.personal import PERSONAL, Code, PersonalText
from shared.events.registry import EventData, register
from shared.text import without_controls
from shared.time_bounds import AwareBoundedDatetime, BoundedDate
from shared.topics import DOSSIER_COMMANDS, DOSSIER_EVENTS, TopicSpec

MissingDocument = Annotated[str, PERSONAL, Field(min_length=1, max_length=200)]


class UnitCommand(EventData):
    """Base of every command: which dossier, which unit acts, and who."""

    TOPIC: ClassVar[TopicSpec] = DOSSIER_COMMANDS
    SUBJECT_CHECKED: ClassVar[bool] = True

    dossier_code: DossierCode = Field(min_length=1, max_length=64)
    unit: UnitCode = Field(min_length=1, max_length=64, description="The acting unit's code.")
    actor: Operator = Field("system", max_length=200, description="Officer or system acting.")

    @field_validator("*")
    @classmethod
    def _typed_text_only(cls, value: Any) -> Any:
        return without_controls(value)

    def subject(self) -> str:
        return self.dossier_code


@register
class AcceptTransfer(UnitCommand):
    EVENT_TYPE: ClassVar[str] = "command.transfer.accept.v1"


@register
class RefuseTransfer(UnitCommand):
    EVENT_TYPE: ClassVar[str] = "command.transfer.refuse.v1"
    reason: PersonalText = Field(min_length=1, max_length=2000)


@register
class CompleteStep(UnitCommand):
    EVENT_TYPE: ClassVar[str] = "command.step.complete.v1"
    outcome: StepOutcome
    note: PersonalText | None = Field(
        None,
        max_length=2000,
        description="Required with outcome reject: the reason the applicant is told (else "
        "refused with `reason_required`); with needs_supplement, the supplement's reason.",
    )
    missing_documents: list[MissingDocument] = Field(
        default_factory=list,
        max_length=50,
        description="Required with outcome needs_supplement: what the applicant must bring.",
    )


@register
class RequestSupplement(UnitCommand):
    EVENT_TYPE: ClassVar[str] = "command.supplement.request.v1"
    missing_documents: list[MissingDocument] = Field(min_length=1, max_length=50)
    reason: PersonalText = Field(min_length=1, max_length=2000)


@register
class ProvideSupplement(UnitCommand):
    EVENT_TYPE: ClassVar[str] = "command.supplement.provide.v1"
    documents: list[BroughtDocument] = Field(min_length=1, max_length=50)


@register
class ReturnResult(UnitCommand):
    EVENT_TYPE: ClassVar[str] = "command.result.return.v1"
    note: PersonalText | None = Field(None, max_length=2000)


@register
class HandOverResult(UnitCommand):
    EVENT_TYPE: ClassVar[str] = "command.result.handover.v1"


@register
class StopProcessing(UnitCommand):
    EVENT_TYPE: ClassVar[str] = "command.processing.stop.v1"
    reason: PersonalText = Field(min_length=1, max_length=2000)


@register
class IssueApology(UnitCommand):
    """Mẫu 04: the unit that will be late apologises before the appointment, with a new date."""

    EVENT_TYPE: ClassVar[str] = "command.apology.issue.v1"
    reason: PersonalText = Field(min_length=1, max_length=2000, description="Why the unit is late.")
    new_appointment_date: BoundedDate = Field(description="The new date the unit proposes.")


@register
class RequestPayment(UnitCommand):
    """The holding unit asks the applicant to pay a fee or fulfil a financial obligation."""

    EVENT_TYPE: ClassVar[str] = "command.payment.request.v1"
    amount_vnd: int = Field(gt=0, le=10**13)
    description: PersonalText = Field(min_length=1, max_length=500)


@register
class ConfirmPayment(UnitCommand):
    """The payment arrived: confirmed by the unit, or by a payment gateway's callback."""

    EVENT_TYPE: ClassVar[str] = "command.payment.confirm.v1"
    amount_vnd: int = Field(gt=0, le=10**13)
    reference: PersonalText = Field(
        min_length=1, max_length=200, description="Receipt or transaction id."
    )
    method: Literal["desk", "gateway", "bank_transfer"] = "desk"
    paid_at: AwareBoundedDatetime | None = Field(
        None, description="When paid; default: when confirmed."
    )


@register
class CommandRefused(EventData):
    """A command was refused; nothing changed. Names the command so the sender can match it."""

    EVENT_TYPE: ClassVar[str] = "dossier.command.refused.v1"
    TOPIC: ClassVar[TopicSpec] = DOSSIER_EVENTS

    dossier_code: DossierCode
    command_id: Code
    command_type: Code
    unit: UnitCode | None = Field(None, description="The unit that sent the command.")
    code: Code = Field(
        description="Machine-readable reason: unknown_dossier, transition_not_allowed, "
        "not_holding_unit, not_transfer_receiver, final_step, not_final_step, "
        "not_responsible_unit, missing_documents_required, reason_required (a reject "
        "without its reason), apology_too_late (no longer raised since contracts 3.0: a late "
        "apology is taken and marked late), "
        "invalid_new_date, payment_mismatch, invalid_paid_at (a payment time before its "
        "request or in the future), not_senders_unit (the command names another "
        "unit than the one its agency topic is bound to), or invalid_command (the "
        "command's type is unknown or its fields break its contract; `reason` names the "
        "field).",
        examples=["not_holding_unit", "invalid_command"],
    )
    reason: PersonalText
    refused_at: datetime

    def subject(self) -> str:
        return self.dossier_code
