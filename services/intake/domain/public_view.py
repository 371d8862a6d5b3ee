"""How dossier facts update the applicant's public view: state labels, public history
steps, the appointment a fact moves."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from intake.model import IntakeDossier, PublicStep
from shared.events.deadlines import ApologyIssued, DossierOverdue
from shared.events.dossier import DossierFact, DossierState
from shared.events.pauses import PaymentReceived, SupplementProvided
from shared.events.portal import portal_status
from shared.events.withdrawal import WithdrawalDeclined

# Vietnamese: the national portal's exact label of the state's status code (IN_TRANSFER is
# "Đang xử lý" there); English: ours.
_STATE_EN: dict[DossierState, str] = {
    DossierState.SUBMITTED: "Submitted online",
    DossierState.RECEIVED: "Received",
    DossierState.DENIED: "Refused at intake",
    DossierState.IN_TRANSFER: "Processing (being transferred)",
    DossierState.PROCESSING: "Processing",
    DossierState.SUPPLEMENT_REQUESTED: "Supplement requested",
    DossierState.AWAITING_PAYMENT: "Awaiting payment",
    DossierState.WITHDRAWAL_REQUESTED: "Withdrawal requested",
    DossierState.WITHDRAWN: "Stopped (withdrawn)",
    DossierState.STOPPED: "Stopped",
    DossierState.RESULT_READY: "Result ready",
    DossierState.DONE: "Result handed over",
}
STATE_LABELS: dict[DossierState, tuple[str, str]] = {
    state: (portal_status(state).label, english) for state, english in _STATE_EN.items()
}

# The applicant's history shows these facts, with these labels (Vietnamese, English).
PUBLIC_STEPS: dict[str, tuple[str, str]] = {
    "dossier.submitted.v2": ("Nộp hồ sơ trực tuyến", "Submitted online"),
    "dossier.received.v2": ("Tiếp nhận hồ sơ", "Dossier received"),
    "dossier.denied.v2": ("Từ chối tiếp nhận hồ sơ", "Refused at intake"),
    "dossier.intake.supplement.requested.v1": (
        "Yêu cầu bổ sung, hoàn thiện hồ sơ trước khi tiếp nhận",
        "Asked to supplement the dossier before reception",
    ),
    "dossier.intake.supplement.provided.v1": (
        "Đã bổ sung hồ sơ, chờ tiếp nhận",
        "Supplemented, waiting for the desk",
    ),
    # Dossiers taken before contracts 2.0 keep their first steps' labels.
    "dossier.submitted.v1": ("Nộp hồ sơ trực tuyến", "Submitted online"),
    "dossier.received.v1": ("Tiếp nhận hồ sơ", "Dossier received"),
    "dossier.denied.v1": ("Từ chối tiếp nhận hồ sơ", "Refused at intake"),
    "dossier.withdrawn.v1": ("Rút hồ sơ", "Withdrawn by the applicant"),
    "dossier.withdrawal.requested.v1": ("Công dân yêu cầu rút hồ sơ", "Withdrawal requested"),
    "dossier.withdrawal.declined.v1": (
        "Không nhận yêu cầu rút hồ sơ: hồ sơ đã xử lý xong",
        "Withdrawal not taken: processing was over",
    ),
    "dossier.apology.issued.v1": (
        "Phiếu xin lỗi và hẹn lại ngày trả kết quả",
        "Apology and new appointment date",
    ),
    "dossier.transfer.requested.v1": ("Chuyển hồ sơ liên thông", "Sent to another unit"),
    "dossier.transfer.accepted.v1": ("Đơn vị mới nhận hồ sơ", "Taken over by the next unit"),
    "dossier.step.completed.v1": ("Hoàn thành một bước xử lý", "A processing step completed"),
    "dossier.supplement.requested.v1": ("Yêu cầu bổ sung hồ sơ", "Supplement requested"),
    "dossier.supplement.provided.v1": ("Đã bổ sung hồ sơ", "Supplement provided"),
    "dossier.payment.requested.v1": ("Yêu cầu nộp phí, lệ phí", "Payment requested"),
    "dossier.payment.received.v1": ("Đã nộp phí, lệ phí", "Payment received"),
    "dossier.result.ready.v1": ("Có kết quả, chờ trả", "Result ready for collection"),
    "dossier.done.v1": ("Đã trả kết quả", "Result handed over"),
    "dossier.stopped.v1": ("Dừng xử lý hồ sơ", "Processing stopped"),
    "dossier.overdue.v1": ("Quá hạn giải quyết", "Past the appointment date"),
}
# Internal bookkeeping between units: it moves the state, but is no step for the applicant.
INTERNAL_STEPS = frozenset(
    {
        "dossier.route.planned.v1",
        "dossier.transfer.refused.v1",
        "dossier.step.due_soon.v1",
        "dossier.step.overdue.v1",
    }
)


# What routing may answer to a withdrawal request it took (WITHDRAWAL_REQUESTED allows
# nothing but stopping); its decline (``WithdrawalDeclined``) says the state it kept.
ENDS_A_WITHDRAWAL_REQUEST = frozenset({DossierState.STOPPED, DossierState.WITHDRAWN})


def state_after(dossier: IntakeDossier, fact: DossierFact) -> DossierState:
    """The state a fact later than every fact applied leaves the dossier in.

    While intake's withdrawal request stands, routing's facts cannot undo it: routing
    takes the request silently (it emits nothing), so a fact it emitted after the
    applicant asked but before it read the request (the route planned for a dossier
    withdrawn a moment after its reception, a step completed meanwhile) is later by
    time yet earlier in routing's order. Only what ends the request moves the state:
    the stop, or routing's decline, which names the state it kept."""
    if (
        dossier.state is DossierState.WITHDRAWAL_REQUESTED
        and not isinstance(fact, WithdrawalDeclined)
        and fact.state not in ENDS_A_WITHDRAWAL_REQUEST
    ):
        return dossier.state
    return fact.state


def new_appointment_date(fact: DossierFact) -> date | None:
    """The appointment date a fact moves, if it moves one."""
    if isinstance(fact, DossierOverdue):
        return fact.new_appointment_date  # set by facts published before 2026-12
    if isinstance(fact, ApologyIssued):
        return fact.apology.new_appointment_date
    if isinstance(fact, SupplementProvided | PaymentReceived):
        return fact.appointment_date
    return None


def apply_fact(
    dossier: IntakeDossier, event_type: str, event_id: str, at: datetime, fact: DossierFact
) -> IntakeDossier | None:
    """The dossier with another service's fact applied (None when it is already in).

    State, holding unit and appointment follow the latest fact by time: an older fact
    arriving late does not roll them back, nor does a fact routing emitted before it read
    a withdrawal request (``state_after``). Public facts add a history step in time order.
    """
    if any(step.event_id == event_id for step in dossier.history):
        return None  # written by intake itself, or already applied
    fields: dict[str, Any] = {}
    latest = dossier.applied_up_to
    if latest is None or at_store_precision(at) >= at_store_precision(latest):
        fields = {
            "state": state_after(dossier, fact),
            "holding_unit": fact.holding_unit,
            "applied_up_to": at,
        }
        if (moved := new_appointment_date(fact)) is not None:
            fields["appointment_date"] = moved
        if isinstance(fact, ApologyIssued):
            fields["apology_appointment_date"] = fact.apology.new_appointment_date
    if event_type in PUBLIC_STEPS:
        step = PublicStep.of(fact, event_id, event_type, at)
        # A stable sort: facts of the same instant keep their arrival order.
        fields["history"] = sorted([*dossier.history, step], key=lambda s: at_store_precision(s.at))
    return dossier.changed(**fields) if fields else None


def at_store_precision(moment: datetime) -> datetime:
    # The store keeps milliseconds: compare at that precision.
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)
