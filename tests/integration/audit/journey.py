"""A realistic dossier journey as envelopes, for the audit service's integration tests."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from shared.envelope import Envelope
from shared.events.closing import DossierDone, ResultReady
from shared.events.dossier import ApplicantRef, Channel, DocumentRef, DossierState, StepOutcome
from shared.events.handover import (
    DossierRoutePlanned,
    HandoverReceipt,
    RouteStep,
    StepCompleted,
    TransferAccepted,
    TransferRequested,
)
from shared.events.notification import NotificationSent
from shared.events.reception import DossierReceived
from shared.events.registry import EventData, make_envelope

DESK = "000.00.01.H59"  # a commune one-stop desk
DISTRICT = "000.00.20.H59"  # the district office
DOCS_HASH = "a" * 64
T0 = datetime(2026, 11, 26, 8, 30, tzinfo=UTC)


def journey(code: str) -> list[Envelope]:
    """Received at the desk, transferred to the district, approved, returned, handed over."""
    at = [T0 + timedelta(hours=h) for h in range(8)]
    transfer_id = str(uuid.uuid4())
    facts: list[EventData] = [
        DossierReceived(
            dossier_code=code,
            state=DossierState.RECEIVED,
            holding_unit=DESK,
            procedure_code="1.004227",
            procedure_version="2026.1",
            receiving_unit=DESK,
            received_at=at[0],
            clock_starts_on=date(2026, 11, 26),
            appointment_date=date(2026, 12, 3),
            total_budget_days=5,
            applicant=ApplicantRef(identity_hash="b" * 64),
            documents=[
                DocumentRef(name="Đơn đề nghị", type="DON", size_bytes=1200, sha256="c" * 64)
            ],
            documents_hash=DOCS_HASH,
        ),
        DossierRoutePlanned(
            dossier_code=code,
            state=DossierState.RECEIVED,
            holding_unit=DESK,
            steps=[
                RouteStep(index=0, name="Tiếp nhận", unit=DESK, budget_days=1),
                RouteStep(index=1, name="Thẩm định", unit=DISTRICT, budget_days=3),
                RouteStep(index=2, name="Trả kết quả", unit=DESK, budget_days=1),
            ],
            current_step=0,
            step_due_date=date(2026, 11, 27),
        ),
        TransferRequested(
            dossier_code=code,
            state=DossierState.IN_TRANSFER,
            holding_unit=DESK,
            transfer_id=transfer_id,
            step_index=1,
            step_name="Thẩm định",
            from_unit=DESK,
            to_unit=DISTRICT,
            requested_at=at[1],
            step_due_date=date(2026, 12, 2),
            documents_hash=DOCS_HASH,
        ),
        TransferAccepted(
            dossier_code=code,
            state=DossierState.PROCESSING,
            holding_unit=DISTRICT,
            transfer_id=transfer_id,
            step_index=1,
            from_unit=DESK,
            to_unit=DISTRICT,
            accepted_at=at[2],
            receipt=HandoverReceipt(
                receipt_id=str(uuid.uuid4()),
                dossier_code=code,
                step_index=1,
                from_unit=DESK,
                to_unit=DISTRICT,
                accepted_at=at[2],
                documents_hash=DOCS_HASH,
            ),
        ),
        StepCompleted(
            dossier_code=code,
            state=DossierState.PROCESSING,
            holding_unit=DISTRICT,
            step_index=1,
            unit=DISTRICT,
            outcome=StepOutcome.APPROVE,
            completed_at=at[3],
        ),
        ResultReady(
            dossier_code=code,
            state=DossierState.RESULT_READY,
            holding_unit=DESK,
            unit=DESK,
            ready_at=at[4],
            outcome="approved",
        ),
        DossierDone(
            dossier_code=code, state=DossierState.DONE, holding_unit=DESK, unit=DESK, done_at=at[5]
        ),
    ]
    envelopes: list[Envelope] = []
    for fact, moment in zip(facts, at, strict=False):
        cause = envelopes[-1] if envelopes else None
        envelopes.append(make_envelope(fact, source="/lienthong/tests", cause=cause, time=moment))
    done = envelopes[-1]
    sent = NotificationSent(
        notification_id=str(uuid.uuid4()),
        dossier_code=code,
        source_event_id=done.id,
        source_event_type=done.type,
        channel=Channel.EMAIL,
        recipient_kind="applicant",
        recipient_ref="d" * 64,
        template="dossier.done",
        language="vi",
        attempts=1,
        sent_at=at[6],
    )
    envelopes.append(make_envelope(sent, source="/lienthong/tests", cause=done, time=at[6]))
    return envelopes
