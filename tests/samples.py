"""Realistic dossier facts built from the shared contracts, for every service's tests.

One builder per fact, with the defaults of one land-registration dossier at Tân Hòa; a test
names only what it is about (another unit, another moment). Routing's decisions have their
own builders (tests/unit/routing/builders.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, date, datetime

from shared.envelope import Envelope
from shared.events.applicant import ApplicantContactRegistered, ContactDetails
from shared.events.closing import DossierDone, DossierStopped, ResultReady
from shared.events.deadlines import (
    ApologyIssued,
    ApologyNotice,
    DossierOverdue,
    StepDueSoon,
    StepOverdue,
)
from shared.events.dossier import (
    ApplicantContact,
    ApplicantRef,
    Channel,
    DocumentRef,
    DossierState,
    Language,
    documents_hash,
)
from shared.events.handover import HandoverReceipt, TransferAccepted, TransferRequested
from shared.events.pauses import PaymentRequested, SupplementProvided, SupplementRequested
from shared.events.reception import (
    DossierDenied,
    DossierReceived,
    DossierReceivedV1,
    DossierSubmitted,
    IntakeSupplementProvided,
    IntakeSupplementRequested,
)
from shared.events.registry import EventData, make_envelope
from shared.events.withdrawal import DossierWithdrawn, WithdrawalDeclined, WithdrawalRequested

COMMUNE_DESK = "001.21.31.H59"  # Tân Hòa town one-stop desk
COMMUNE_COMMITTEE = "000.21.31.H59"
DISTRICT_LAND = "000.06.31.H59"
BIRTH = "1.001193"
LAND = "1.004227"
AT = datetime(2026, 11, 26, 2, 30, tzinfo=UTC)  # 09:30 in Vietnam
DOC_HASH = hashlib.sha256(b"documents").hexdigest()


def contact(
    *,
    name: str = "Nguyễn Văn An",
    email: str | None = "an.nguyen@example.vn",
    phone: str | None = "0901234567",
    channels: tuple[Channel, ...] = (Channel.EMAIL, Channel.SMS),
    language: Language = Language.VI,
) -> ContactDetails:
    return ContactDetails(
        name=name, email=email, phone=phone, channels=list(channels), language=language
    )


def applicant_ref(name: str = "Nguyễn Văn An") -> ApplicantRef:
    return ApplicantRef(identity_hash=hashlib.sha256(name.encode()).hexdigest())


def registered(code: str, details: ContactDetails) -> ApplicantContactRegistered:
    """The contact intake registers for notification, on its own topic."""
    return ApplicantContactRegistered(dossier_code=code, contact=details, registered_at=AT)


def documents() -> list[DocumentRef]:
    return [DocumentRef(name="Tờ khai", type="registration_form", size_bytes=2048, sha256=DOC_HASH)]


def submitted(code: str, applicant: ApplicantRef | None = None) -> DossierSubmitted:
    return DossierSubmitted(
        dossier_code=code,
        state=DossierState.SUBMITTED,
        holding_unit=COMMUNE_DESK,
        procedure_code=BIRTH,
        receiving_unit=COMMUNE_DESK,
        submitted_at=AT,
        applicant=applicant or applicant_ref(),
        documents=documents(),
    )


def received(code: str, procedure: str = LAND) -> DossierReceived:
    return DossierReceived(
        dossier_code=code,
        state=DossierState.RECEIVED,
        holding_unit=COMMUNE_DESK,
        procedure_code=procedure,
        procedure_version="2024.1",
        receiving_unit=COMMUNE_DESK,
        received_at=AT,
        clock_starts_on=date(2026, 11, 27),
        appointment_date=date(2026, 12, 18),
        total_budget_days=15,
        applicant=applicant_ref(),
        documents=documents(),
        documents_hash=DOC_HASH,
    )


def received_v1(code: str, details: ContactDetails) -> DossierReceivedV1:
    """A deprecated dossier.received.v1, as it carried the contact before contracts 2.0."""
    legacy = ApplicantContact(**details.model_dump(), **applicant_ref(details.name).model_dump())
    return DossierReceivedV1(**{**received(code).model_dump(), "applicant": legacy})


def denied(code: str) -> DossierDenied:
    return DossierDenied(
        dossier_code=code,
        state=DossierState.DENIED,
        holding_unit=COMMUNE_DESK,
        procedure_code=BIRTH,
        receiving_unit=COMMUNE_DESK,
        denied_at=AT,
        reason="Thiếu giấy chứng sinh bản chính / original birth certificate missing",
        applicant=applicant_ref(),
    )


def transfer_requested(
    code: str, *, to_unit: str = DISTRICT_LAND, at: datetime = AT
) -> TransferRequested:
    return TransferRequested(
        dossier_code=code,
        state=DossierState.IN_TRANSFER,
        holding_unit=COMMUNE_DESK,
        transfer_id="tr-1",
        step_index=1,
        step_name="Thẩm định hồ sơ đất đai",
        from_unit=COMMUNE_DESK,
        to_unit=to_unit,
        requested_at=at,
        step_due_date=date(2026, 12, 4),
        documents_hash=DOC_HASH,
    )


def transfer_accepted(
    code: str, *, to_unit: str = DISTRICT_LAND, at: datetime = AT
) -> TransferAccepted:
    return TransferAccepted(
        dossier_code=code,
        state=DossierState.PROCESSING,
        holding_unit=to_unit,
        transfer_id="tr-1",
        step_index=1,
        from_unit=COMMUNE_DESK,
        to_unit=to_unit,
        accepted_at=at,
        receipt=HandoverReceipt(
            receipt_id="rc-1",
            dossier_code=code,
            step_index=1,
            from_unit=COMMUNE_DESK,
            to_unit=to_unit,
            accepted_at=at,
            documents_hash=DOC_HASH,
        ),
    )


def intake_supplement_requested(code: str) -> IntakeSupplementRequested:
    """A birth registration handed in at the desk without the birth certificate (Mẫu 02)."""
    return IntakeSupplementRequested(
        dossier_code=code,
        state=DossierState.SUPPLEMENT_REQUESTED,
        holding_unit=COMMUNE_DESK,
        procedure_code=BIRTH,
        receiving_unit=COMMUNE_DESK,
        requested_at=AT,
        missing_documents=["birth_certificate", "Bản sao giấy đăng ký kết hôn"],
        guidance="Nộp bản chính giấy chứng sinh; bản sao giấy đăng ký kết hôn có chứng thực.",
        applicant=applicant_ref(),
        documents=documents(),
    )


def intake_supplement_provided(code: str) -> IntakeSupplementProvided:
    """The applicant brought the birth certificate: the dossier waits for the desk again."""
    brought = DocumentRef(
        name="Giấy chứng sinh", type="birth_certificate", size_bytes=4096, sha256="b" * 64
    )
    return IntakeSupplementProvided(
        dossier_code=code,
        state=DossierState.SUBMITTED,
        holding_unit=COMMUNE_DESK,
        receiving_unit=COMMUNE_DESK,
        provided_at=AT,
        added_documents=[brought],
        documents=[*documents(), brought],
        documents_hash=documents_hash([*documents(), brought]),
    )


def supplement_requested(code: str) -> SupplementRequested:
    return SupplementRequested(
        dossier_code=code,
        state=DossierState.SUPPLEMENT_REQUESTED,
        holding_unit=DISTRICT_LAND,
        unit=DISTRICT_LAND,
        requested_at=AT,
        missing_documents=["Bản đồ địa chính thửa đất", "Biên lai nộp thuế"],
        reason="Hồ sơ thiếu giấy tờ về thửa đất",
        respond_by=date(2026, 12, 10),
    )


def supplement_provided(code: str) -> SupplementProvided:
    return SupplementProvided(
        dossier_code=code,
        state=DossierState.PROCESSING,
        holding_unit=DISTRICT_LAND,
        unit=DISTRICT_LAND,
        provided_at=AT,
        documents=documents(),
        documents_hash=DOC_HASH,
        paused_working_days=3,
        step_due_date=date(2026, 12, 9),
        appointment_date=date(2026, 12, 23),
    )


def step_due_soon(code: str) -> StepDueSoon:
    return StepDueSoon(
        dossier_code=code,
        state=DossierState.PROCESSING,
        holding_unit=DISTRICT_LAND,
        step_index=1,
        unit=DISTRICT_LAND,
        due_date=date(2026, 12, 9),
        working_days_left=1,
        detected_at=AT,
    )


def step_overdue(code: str) -> StepOverdue:
    return StepOverdue(
        dossier_code=code,
        state=DossierState.PROCESSING,
        holding_unit=DISTRICT_LAND,
        step_index=1,
        unit=DISTRICT_LAND,
        due_date=date(2026, 12, 9),
        detected_at=AT,
    )


def overdue(code: str, new_appointment_date: date = date(2027, 1, 6)) -> DossierOverdue:
    return DossierOverdue(
        dossier_code=code,
        state=DossierState.PROCESSING,
        holding_unit=DISTRICT_LAND,
        appointment_date=date(2026, 12, 23),
        new_appointment_date=new_appointment_date,
        detected_at=AT,
        apology=ApologyNotice(
            issuing_unit=COMMUNE_DESK,
            reason="Cần xác minh thực địa thửa đất",
            original_appointment_date=date(2026, 12, 23),
            new_appointment_date=new_appointment_date,
        ),
    )


def late(code: str) -> DossierOverdue:
    """Since 2026-12: no generated apology, the unit it is late at, and whether it apologised."""
    return DossierOverdue(
        dossier_code=code,
        state=DossierState.PROCESSING,
        holding_unit=DISTRICT_LAND,
        appointment_date=date(2026, 12, 23),
        detected_at=AT,
        unit=DISTRICT_LAND,
        apologised=True,
        missed_new_date=True,
    )


def apology_issued(code: str, number: int = 1) -> ApologyIssued:
    return ApologyIssued(
        dossier_code=code,
        state=DossierState.PROCESSING,
        holding_unit=DISTRICT_LAND,
        unit=DISTRICT_LAND,
        issued_at=AT,
        apology=ApologyNotice(
            issuing_unit=DISTRICT_LAND,
            reason="Cần xác minh thực địa thửa đất",
            original_appointment_date=date(2026, 12, 23),
            new_appointment_date=date(2027, 1, 6),
            number=number,
            issued_at=AT,
        ),
    )


def payment_requested(code: str) -> PaymentRequested:
    return PaymentRequested(
        dossier_code=code,
        state=DossierState.AWAITING_PAYMENT,
        holding_unit=DISTRICT_LAND,
        unit=DISTRICT_LAND,
        amount_vnd=1_500_000,
        requested_at=AT,
        description="Tiền sử dụng đất",
    )


def result_ready(code: str) -> ResultReady:
    return ResultReady(
        dossier_code=code,
        state=DossierState.RESULT_READY,
        holding_unit=COMMUNE_DESK,
        unit=COMMUNE_DESK,
        ready_at=AT,
        outcome="approved",
        note="Mang theo CCCD khi nhận kết quả",
    )


def stopped(code: str) -> DossierStopped:
    return DossierStopped(
        dossier_code=code,
        state=DossierState.STOPPED,
        holding_unit=COMMUNE_DESK,
        unit=COMMUNE_DESK,
        stopped_at=AT,
        reason="Người nộp không bổ sung hồ sơ đúng hạn",
    )


def withdrawn(code: str) -> DossierWithdrawn:
    return DossierWithdrawn(
        dossier_code=code,
        state=DossierState.WITHDRAWN,
        holding_unit=COMMUNE_DESK,
        withdrawn_at=AT,
    )


def withdrawal_requested(code: str) -> WithdrawalRequested:
    return WithdrawalRequested(
        dossier_code=code,
        state=DossierState.WITHDRAWAL_REQUESTED,
        holding_unit=COMMUNE_DESK,
        requested_at=AT,
    )


def withdrawal_declined(
    code: str,
    holding_unit: str = COMMUNE_DESK,
    requested_at: datetime = AT,
    declined_at: datetime = AT,
) -> WithdrawalDeclined:
    """The holder could not stop it: the result was ready first."""
    return WithdrawalDeclined(
        dossier_code=code,
        state=DossierState.RESULT_READY,
        holding_unit=holding_unit,
        requested_at=requested_at,
        declined_at=declined_at,
        reason_code="result_ready",
    )


def done(code: str) -> DossierDone:
    return DossierDone(
        dossier_code=code,
        state=DossierState.DONE,
        holding_unit=COMMUNE_DESK,
        unit=COMMUNE_DESK,
        done_at=AT,
    )


def sample_for(event_type: str, code: str = "001.21.31.H59-261126-0001") -> EventData:
    """A realistic event of each type that has a template."""
    builders: dict[str, Callable[[], EventData]] = {
        "dossier.received.v2": lambda: received(code),
        "dossier.received.v1": lambda: received_v1(code, contact()),
        "dossier.denied.v2": lambda: denied(code),
        "dossier.supplement.requested.v1": lambda: supplement_requested(code),
        "dossier.intake.supplement.requested.v1": lambda: intake_supplement_requested(code),
        "dossier.overdue.v1": lambda: overdue(code),
        "dossier.apology.issued.v1": lambda: apology_issued(code),
        "dossier.payment.requested.v1": lambda: payment_requested(code),
        "dossier.result.ready.v1": lambda: result_ready(code),
        "dossier.stopped.v1": lambda: stopped(code),
        "dossier.transfer.requested.v1": lambda: transfer_requested(code),
        "dossier.step.due_soon.v1": lambda: step_due_soon(code),
        "dossier.step.overdue.v1": lambda: step_overdue(code),
    }
    return builders[event_type]()


def envelope_of(data: EventData) -> Envelope:
    return make_envelope(data, source="/tests", time=AT)
