"""Facts about dossiers, published on ``dossier.events`` keyed by dossier code.

Every dossier fact carries the dossier's ``state`` and ``holding_unit`` after the
fact, so a read model (the applicant look-up, dashboards) can follow any event
without knowing the workflow rules, and the national portal's status code and exact
label of that state (``portal_status``, ``portal_status_label``; filled from ``state``).
Facts that set a due date name the calendar that counted it (``calendar_version``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal

import rfc8785
from pydantic import Field, model_validator

from shared.events.personal import Code, DocumentsHash, InClear, PersonalText
from shared.events.portal import PortalStatus, portal_status
from shared.events.registry import ContractModel, EventData, register
from shared.topics import DOSSIER_EVENTS, TopicSpec

UnitCode = Annotated[str, InClear("a unit (agency) code")]
DossierCode = Annotated[str, InClear("the dossier code")]


class DossierState(StrEnum):
    """Lifecycle states, as national-portal integrations name them (portal word in comments)."""

    SUBMITTED = "SUBMITTED"  # receiving: online, not yet checked by a desk
    RECEIVED = "RECEIVED"  # new
    DENIED = "DENIED"  # denied at intake
    IN_TRANSFER = "IN_TRANSFER"  # interoperating: waiting for the next unit to accept
    PROCESSING = "PROCESSING"  # processing
    SUPPLEMENT_REQUESTED = "SUPPLEMENT_REQUESTED"  # waiting: clock paused
    AWAITING_PAYMENT = "AWAITING_PAYMENT"  # paying: the clock stands still
    WITHDRAWAL_REQUESTED = "WITHDRAWAL_REQUESTED"  # the applicant asked; the holder stops it
    WITHDRAWN = "WITHDRAWN"  # cancelled by the applicant before any desk received it
    STOPPED = "STOPPED"  # unresolved
    RESULT_READY = "RESULT_READY"  # releasing: back at the returning desk
    DONE = "DONE"  # result handed over


class Channel(StrEnum):
    """Ways to reach an applicant or a unit."""

    EMAIL = "email"
    SMS = "sms"
    WEBHOOK = "webhook"


class ResultDelivery(StrEnum):
    """How the applicant gets the result (it changes the wording of notices and forms)."""

    DESK = "desk"  # collected at the returning desk
    POST = "post"  # sent by public postal service (dịch vụ bưu chính công ích)
    ONLINE = "online"  # electronic result on the portal


CalendarVersion = Annotated[str, InClear("a calendar release")]
"""``WorkingCalendar.provenance``: holidays release and overrides version behind a date."""


class Language(StrEnum):
    VI = "vi"
    EN = "en"


class StepOutcome(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    NEEDS_SUPPLEMENT = "needs_supplement"


class DocumentRef(ContractModel):
    """A submitted document, by reference: the file stays with the submitter."""

    name: PersonalText = Field(min_length=1, max_length=200)
    type: Code = Field(min_length=1, max_length=64, description="Document type code.")
    size_bytes: int = Field(ge=1, le=100_000_000, description="An empty file is no document.")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


def documents_hash(documents: Sequence[DocumentRef | Mapping[str, Any]]) -> str:
    """SHA-256 (hex) of the RFC 8785 canonical JSON of the document list, in order.

    Part of the contract: ``documents_hash`` in events and hand-over receipts is this.
    """
    plain = [DocumentRef.model_validate(doc).model_dump(mode="json") for doc in documents]
    return hashlib.sha256(rfc8785.dumps(plain)).hexdigest()


class ApplicantRef(ContractModel):
    """The applicant in dossier facts: a keyed hash, no name and no contact.

    Enough to join an applicant's dossiers; the key (``LT_INTAKE_IDENTITY_HASH_KEY``)
    stays with intake, so nobody reading the events can test a guessed number.
    """

    identity_hash: PersonalText = Field(
        description="Keyed HMAC-SHA256 of the identity number (hex)."
    )


class ApplicantContact(ApplicantRef):
    """The applicant with name and contact, as the deprecated v1 facts carried it."""

    name: PersonalText = Field(min_length=1, max_length=200)
    email: PersonalText | None = Field(None, max_length=254)
    phone: PersonalText | None = Field(None, max_length=20)
    channels: list[Channel] = Field(default_factory=list, description="Preferred channels.")
    language: Language = Language.VI


class DossierFact(EventData):
    """Base of every fact about one dossier, which readers apply to its state (intake's
    look-up, the portal sync): its code, and its state and holding unit after the fact
    (with the portal's status of that state)."""

    TOPIC: ClassVar[TopicSpec] = DOSSIER_EVENTS

    dossier_code: DossierCode = Field(min_length=1, max_length=64)
    state: DossierState = Field(description="The dossier's state after this fact.")
    holding_unit: UnitCode = Field(description="The unit holding the dossier after this fact.")
    portal_status: PortalStatus | None = Field(
        None, description="National portal status code (1-10) of `state`; filled from it."
    )
    portal_status_label: Annotated[str, InClear("the portal's label of `state`")] | None = Field(
        None, description="The portal's exact Vietnamese label of `portal_status`."
    )

    @model_validator(mode="before")
    @classmethod
    def _portal_status_from_state(cls, data: Any) -> Any:
        if isinstance(data, dict) and "state" in data and data.get("portal_status") is None:
            status = portal_status(DossierState(data["state"]))
            return {**data, "portal_status": status, "portal_status_label": status.label}
        return data

    @model_validator(mode="after")
    def _portal_status_matches_state(self) -> DossierFact:
        expected = portal_status(self.state)
        if self.portal_status != expected or self.portal_status_label != expected.label:
            raise ValueError(f"portal_status of {self.state.value} is {int(expected)}")
        return self

    def subject(self) -> str:
        return self.dossier_code


@register
class DossierSubmitted(DossierFact):
    """An online submission arrived and waits for a desk to check it."""

    EVENT_TYPE: ClassVar[str] = "dossier.submitted.v2"
    procedure_code: Code
    receiving_unit: UnitCode
    submitted_at: datetime
    applicant: ApplicantRef = Field(description="The applicant as a keyed hash, no contact.")
    documents: list[DocumentRef]


@register
class DossierReceived(DossierFact):
    """A desk received the dossier: code allocated, appointment date given."""

    EVENT_TYPE: ClassVar[str] = "dossier.received.v2"
    procedure_code: Code
    procedure_version: Code
    receiving_unit: UnitCode
    received_at: datetime
    clock_starts_on: date = Field(description="First working day counted (after the cut-off).")
    appointment_date: date
    total_budget_days: int = Field(ge=0)
    channel: Literal["desk", "online", "agency"] = "desk"
    applicant: ApplicantRef = Field(description="The applicant as a keyed hash, no contact.")
    documents: list[DocumentRef]
    documents_hash: DocumentsHash = Field(description="SHA-256 of the canonical document list.")
    note: PersonalText | None = None
    area_unit: UnitCode | None = Field(
        None,
        description="The applicant's area (residence or where the matter lies). For a "
        "procedure received regardless of boundary, the deciding units are resolved from it.",
    )
    result_delivery: ResultDelivery = ResultDelivery.DESK
    calendar_version: CalendarVersion | None = Field(
        None, description="Calendar that counted `appointment_date`."
    )


@register
class DossierDenied(DossierFact):
    """The desk refused the dossier at intake, with the reason (refusal notice)."""

    EVENT_TYPE: ClassVar[str] = "dossier.denied.v2"
    procedure_code: Code
    receiving_unit: UnitCode
    denied_at: datetime
    reason: PersonalText = Field(min_length=1, max_length=2000)
    applicant: ApplicantRef = Field(description="The applicant as a keyed hash, no contact.")


# Deprecated first versions: they carried the applicant's name and contact to every
# reader of dossier.events. No longer emitted (contacts travel on applicant.contacts,
# readable by notification only); kept registered so old messages stay readable.


@register
class DossierSubmittedV1(DossierSubmitted):
    """Deprecated (not emitted since contracts 2.0): dossier.submitted.v2 with the contact."""

    EVENT_TYPE: ClassVar[str] = "dossier.submitted.v1"
    DEPRECATED: ClassVar[bool] = True
    applicant: ApplicantContact


@register
class DossierReceivedV1(DossierReceived):
    """Deprecated (not emitted since contracts 2.0): dossier.received.v2 with the contact."""

    EVENT_TYPE: ClassVar[str] = "dossier.received.v1"
    DEPRECATED: ClassVar[bool] = True
    applicant: ApplicantContact


@register
class DossierDeniedV1(DossierDenied):
    """Deprecated (not emitted since contracts 2.0): dossier.denied.v2 with the contact."""

    EVENT_TYPE: ClassVar[str] = "dossier.denied.v1"
    DEPRECATED: ClassVar[bool] = True
    applicant: ApplicantContact


@register
class IntakeSupplementRequested(DossierFact):
    """The desk found the dossier incomplete before receiving it and asked the applicant to
    supplement it (Mẫu 02): no appointment yet, no clock running (portal status 5).

    Either a dossier handed in at the desk (then this is its first fact) or an online
    submission the desk checked. Once supplemented, the dossier waits for the desk again
    (``dossier.intake.supplement.provided.v1``), which receives or refuses it.
    """

    EVENT_TYPE: ClassVar[str] = "dossier.intake.supplement.requested.v1"
    procedure_code: Code
    receiving_unit: UnitCode
    requested_at: datetime
    missing_documents: list[PersonalText] = Field(
        min_length=1, description="Document types (catalogue codes) or names of what is missing."
    )
    guidance: PersonalText = Field(
        min_length=1, max_length=2000, description="What to correct, how."
    )
    request_number: int = Field(1, ge=1, description="1 for the dossier's first request.")
    applicant: ApplicantRef = Field(description="The applicant as a keyed hash, no contact.")
    documents: list[DocumentRef] = Field(description="What the desk was handed so far.")


@register
class IntakeSupplementProvided(DossierFact):
    """The applicant supplemented a dossier the desk had not yet received: it waits for the
    desk to check it again (SUBMITTED), which receives it (the appointment is counted
    from then) or refuses it."""

    EVENT_TYPE: ClassVar[str] = "dossier.intake.supplement.provided.v1"
    receiving_unit: UnitCode
    provided_at: datetime
    added_documents: list[DocumentRef] = Field(min_length=1)
    documents: list[DocumentRef] = Field(description="The dossier's documents now, in order.")
    documents_hash: DocumentsHash = Field(description="SHA-256 of the canonical document list.")


@register
class DossierWithdrawn(DossierFact):
    """The applicant withdrew a dossier no desk had received yet (closed at once)."""

    EVENT_TYPE: ClassVar[str] = "dossier.withdrawn.v1"
    withdrawn_at: datetime
    reason: PersonalText | None = None


@register
class WithdrawalRequested(DossierFact):
    """The applicant asked to withdraw a received dossier (portal status 7).

    The unit holding it then stops processing (``command.processing.stop.v1``, status 8).
    """

    EVENT_TYPE: ClassVar[str] = "dossier.withdrawal.requested.v1"
    requested_at: datetime
    reason: PersonalText | None = None


@register
class WithdrawalDeclined(DossierFact):
    """Routing did not take a withdrawal: the applicant's request (or a legacy immediate
    withdrawal) reached it when the dossier could no longer be withdrawn, because its
    result was ready (portal status 9: processing is over) or it was closed. Nothing
    changed: ``state`` and ``holding_unit`` are the dossier's, so a reader that showed the
    withdrawal as requested (intake's look-up) can follow them again. Since contracts 3.0."""

    EVENT_TYPE: ClassVar[str] = "dossier.withdrawal.declined.v1"
    requested_at: datetime = Field(description="When the applicant asked (the request's time).")
    declined_at: datetime
    reason_code: Literal["result_ready", "closed", "already_requested"] = Field(
        description="`result_ready`: the result was ready (status 9) when the request "
        "arrived; `closed`: the dossier was done, stopped or withdrawn; "
        "`already_requested`: a withdrawal was already requested."
    )


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


@register
class SupplementRequested(DossierFact):
    """Documents are missing: the applicant must supplement; the clock pauses."""

    EVENT_TYPE: ClassVar[str] = "dossier.supplement.requested.v1"
    unit: UnitCode
    requested_at: datetime
    missing_documents: list[PersonalText] = Field(
        description="Document types (catalogue codes) or names of what is missing."
    )
    reason: PersonalText
    respond_by: date | None = None
    procedure_code: Code | None = Field(
        None, description="The dossier's procedure (gives the documents' display names)."
    )
    request_number: int = Field(1, ge=1, description="1 for the first request of the dossier.")
    repeated: bool = Field(
        False, description="Not the first supplement request: counts against the unit."
    )


@register
class SupplementProvided(DossierFact):
    """The applicant supplied what was missing; the clock resumes."""

    EVENT_TYPE: ClassVar[str] = "dossier.supplement.provided.v1"
    unit: UnitCode
    provided_at: datetime
    documents: list[DocumentRef]
    documents_hash: DocumentsHash
    paused_working_days: int = Field(ge=0)
    step_due_date: date
    appointment_date: date
    calendar_version: CalendarVersion | None = None


@register
class PaymentRequested(DossierFact):
    """The applicant must pay a fee or fulfil a financial obligation; the clock stops."""

    EVENT_TYPE: ClassVar[str] = "dossier.payment.requested.v1"
    unit: UnitCode
    amount_vnd: int = Field(ge=0)
    requested_at: datetime
    description: PersonalText | None = Field(
        None, description="What is to be paid (fee, land use levy)."
    )


@register
class PaymentReceived(DossierFact):
    """The financial obligation was fulfilled; the clock resumes, due dates move back."""

    EVENT_TYPE: ClassVar[str] = "dossier.payment.received.v1"
    unit: UnitCode
    amount_vnd: int = Field(ge=0)
    received_at: datetime
    reference: PersonalText | None = Field(None, description="Receipt or gateway transaction id.")
    method: Code | None = Field(None, description="desk, gateway or bank_transfer.")
    paused_working_days: int | None = Field(None, ge=0)
    step_due_date: date | None = None
    appointment_date: date | None = None
    calendar_version: CalendarVersion | None = None


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
        "invalid_new_date, payment_mismatch, not_senders_unit (the command names another "
        "unit than the one its agency topic is bound to), or invalid_command (the "
        "command's type is unknown or its fields break its contract; `reason` names the "
        "field).",
        examples=["not_holding_unit", "invalid_command"],
    )
    reason: PersonalText
    refused_at: datetime

    def subject(self) -> str:
        return self.dossier_code


@register
class PersonalDataErased(EventData):
    """Intake erased a closed dossier's personal data once its retention had passed.

    The applicant's name, contact, identity, address, notes, reasons and document names
    intake kept for the dossier were replaced by a marker; its code, procedure, units,
    dates, states and history stay. Emitted in the transaction of the erasure, once per
    dossier, so the audit log holds it in the dossier's history. Carries no personal
    value: nothing to erase in it. Changes neither the state nor the holder (not a
    ``DossierFact``: readers applying facts to a dossier's state pass it over). Since
    contracts 3.1.
    """

    EVENT_TYPE: ClassVar[str] = "dossier.personal-data.erased.v1"
    TOPIC: ClassVar[TopicSpec] = DOSSIER_EVENTS

    dossier_code: DossierCode
    receiving_unit: UnitCode = Field(description="The desk that received the dossier.")
    state: DossierState = Field(description="The closed state the dossier was erased in.")
    closed_at: datetime = Field(
        description="When intake applied the dossier's latest fact (its close, as a rule): "
        "the retention is counted from it."
    )
    erased_at: datetime
    retention_days: int = Field(ge=1, description="LT_INTAKE_PERSONAL_DATA_RETENTION_DAYS.")
    reason: Literal["retention"] = Field(
        "retention", description="`retention`: `retention_days` after `closed_at`."
    )

    def subject(self) -> str:
        return self.dossier_code
