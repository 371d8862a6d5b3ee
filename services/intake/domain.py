"""Intake's pure rules: who may receive what, dossier codes, appointment dates, withdrawal,
how dossier facts update the applicant's public view, and when a closed dossier's
personal data are due for erasure. No I/O here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from intake.model import IntakeDossier, PublicStep
from shared.calendar import WorkingCalendar
from shared.catalogue import Catalogue, CatalogueLookupError, Procedure, Unit
from shared.events.deadlines import ApologyIssued, DossierOverdue
from shared.events.dossier import DossierFact, DossierState
from shared.events.erasure import PersonalDataErased
from shared.events.pauses import PaymentReceived, SupplementProvided
from shared.events.portal import portal_status
from shared.refusals import Refused

MAX_DAILY_SEQUENCE = 9999
DOSSIER_CODE_PATTERN = re.compile(r"^(\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2})-(\d{6})-(\d{4})$")
# The kind of unit whose subtree is an administrative area (a desk serves its committee's).
AREA_KINDS = frozenset({"people_committee"})


# --- who may receive what ---------------------------------------------------------------


@dataclass(frozen=True)
class Admission:
    """What the catalogue says about a dossier it accepts: the procedure and the unit."""

    procedure: Procedure
    unit: Unit


def known_procedure(catalogue: Catalogue, code: str) -> Procedure:
    """The procedure ``code`` of the loaded configuration, in force or not."""
    try:
        return catalogue.procedure(code)
    except CatalogueLookupError:
        raise Refused("unknown_procedure", f"no procedure {code}", field="procedure_code") from None


def find_procedure(catalogue: Catalogue, code: str, on: date) -> Procedure:
    """The procedure ``code`` in force on ``on``."""
    procedure = known_procedure(catalogue, code)
    if not _in_force(procedure.valid_from, procedure.valid_to, on):
        raise Refused(
            "procedure_not_in_force", f"procedure {code} is not in force on {on}",
            field="procedure_code",
        )  # fmt: skip
    return procedure


def find_unit_in_force(catalogue: Catalogue, code: str, on: date, field: str) -> Unit:
    """The unit ``code`` itself, which must exist and be in force on ``on``."""
    try:
        unit = catalogue.unit(code)
    except CatalogueLookupError:
        raise Refused("unknown_unit", f"no unit {code}", field=field) from None
    if not unit.in_force(on):
        successor = _successor_in_force(catalogue, code, on)
        raise Refused(
            "unit_not_in_force", f"unit {code} is not in force on {on}", field=field,
            successor=successor,
        )  # fmt: skip
    return unit


def _successor_in_force(catalogue: Catalogue, code: str, on: date) -> str | None:
    try:
        return catalogue.unit_in_force(code, on).unit.code
    except CatalogueLookupError:
        return None


def check_may_receive(procedure: Procedure, unit: Unit) -> None:
    """The unit takes dossiers at all, and of this procedure (kind and level)."""
    problems = []
    if not unit.receives_dossiers:
        problems.append(f"unit {unit.code} does not receive dossiers")
    if unit.kind not in procedure.receiving_kinds:
        problems.append(f"kind {unit.kind} not in {list(procedure.receiving_kinds)}")
    if unit.level not in procedure.receiving_levels:
        problems.append(f"level {unit.level} not in {list(procedure.receiving_levels)}")
    if problems:
        raise Refused(
            "unit_cannot_receive",
            f"{unit.code} cannot receive procedure {procedure.code}: {'; '.join(problems)}",
            field="receiving_unit",
        )


def service_area(catalogue: Catalogue, unit: Unit) -> Unit:
    """The administrative area a unit serves: its nearest people's committee, else the root."""
    chain = (unit, *catalogue.ancestors(unit.code))
    return next((u for u in chain if u.kind in AREA_KINDS), chain[-1])


def check_boundary(
    catalogue: Catalogue, procedure: Procedure, unit: Unit, area_code: str | None, on: date
) -> None:
    """Without "phi địa giới", the applicant's area must lie within the receiving unit's."""
    if area_code is None:
        return  # the desk checked residence papers itself
    try:
        area_unit = catalogue.unit_in_force(area_code, on).unit  # old codes map to successors
    except CatalogueLookupError as exc:
        raise Refused("unknown_unit", str(exc), field="area_unit") from None
    if procedure.allow_any_receiving_unit:
        return
    served = service_area(catalogue, unit)
    area = service_area(catalogue, area_unit)
    if served.code != area.code and served not in catalogue.ancestors(area.code):
        raise Refused(
            "outside_boundary",
            f"{unit.code} serves {served.code}; {area_code} is outside it and procedure "
            f"{procedure.code} does not allow intake regardless of administrative boundary",
            field="area_unit",
        )


def missing_documents(procedure: Procedure, document_types: list[str]) -> list[str]:
    """Required document types absent from the submission, in catalogue order."""
    present = set(document_types)
    return [d.type for d in procedure.required_documents if d.type not in present]


def admit(
    catalogue: Catalogue,
    *,
    procedure_code: str,
    receiving_unit: str,
    area_unit: str | None,
    document_types: list[str] | None,
    on: date,
) -> Admission:
    """Every catalogue check of a dossier (documents skipped when ``document_types`` is None)."""
    procedure = find_procedure(catalogue, procedure_code, on)
    unit = find_unit_in_force(catalogue, receiving_unit, on, "receiving_unit")
    check_may_receive(procedure, unit)
    check_boundary(catalogue, procedure, unit, area_unit, on)
    if document_types is not None and (missing := missing_documents(procedure, document_types)):
        raise Refused(
            "missing_document", f"required document(s) missing: {', '.join(missing)}",
            field="documents", missing=missing,
        )  # fmt: skip
    return Admission(procedure, unit)


def admit_refusal(
    catalogue: Catalogue, *, procedure_code: str, receiving_unit: str, on: date
) -> Admission:
    """A desk may refuse any known procedure (wrong unit, out of force): it must be a desk."""
    procedure = known_procedure(catalogue, procedure_code)
    unit = find_unit_in_force(catalogue, receiving_unit, on, "receiving_unit")
    if not unit.receives_dossiers:
        raise Refused(
            "unit_cannot_receive", f"unit {unit.code} does not receive dossiers",
            field="receiving_unit",
        )  # fmt: skip
    return Admission(procedure, unit)


def _in_force(valid_from: date | None, valid_to: date | None, on: date) -> bool:
    return (valid_from is None or valid_from <= on) and (valid_to is None or on <= valid_to)


# --- codes and dates ------------------------------------------------------------------


def sequence_name(agency: str, local_day: date) -> str:
    """The counter behind one agency's codes of one local day."""
    return f"{agency}-{local_day:%y%m%d}"


def format_dossier_code(agency: str, local_day: date, seq: int) -> str:
    """``{agency}-{YYMMDD}-{NNNN}``; the daily sequence runs 1..9999."""
    if not 1 <= seq <= MAX_DAILY_SEQUENCE:
        raise Refused(
            "daily_sequence_exhausted",
            f"{agency} has used all {MAX_DAILY_SEQUENCE} codes of {local_day}",
            field="receiving_unit",
        )  # fmt: skip
    return f"{sequence_name(agency, local_day)}-{seq:04d}"


@dataclass(frozen=True)
class Appointment:
    """Day 1 of the budget and the appointment date (phiếu hẹn)."""

    clock_starts_on: date
    appointment_date: date


def appointment(calendar: WorkingCalendar, procedure: Procedure, at: datetime) -> Appointment:
    """Count the procedure's total budget in working days from reception at ``at``."""
    return Appointment(
        clock_starts_on=calendar.clock_start(at, procedure.intake_cutoff),
        appointment_date=calendar.due_date(
            at, procedure.total_budget_days, procedure.intake_cutoff
        ),
    )


# --- withdrawal -----------------------------------------------------------------------

WITHDRAWABLE_STATES = frozenset(
    {
        DossierState.SUBMITTED,
        DossierState.RECEIVED,
        DossierState.IN_TRANSFER,
        DossierState.PROCESSING,
        DossierState.SUPPLEMENT_REQUESTED,
        DossierState.AWAITING_PAYMENT,
    }
)


def check_withdrawal(state: DossierState) -> None:
    """The applicant may withdraw until a result exists or the dossier is closed."""
    if state not in WITHDRAWABLE_STATES:
        raise Refused(
            "withdrawal_not_allowed", f"a {state.value} dossier cannot be withdrawn",
            field="state", state=state.value,
        )  # fmt: skip


def check_awaiting_supplement(dossier: IntakeDossier) -> None:
    """Only a dossier a desk asked to supplement before receiving it can be supplemented
    here (a received one is supplemented with the unit holding it, through routing)."""
    state = dossier.current_state
    if state is not DossierState.SUPPLEMENT_REQUESTED or dossier.received_at is not None:
        raise Refused(
            "invalid_state", f"a {state.value} dossier is not waiting for a supplement at intake",
            field="state", state=state.value,
        )  # fmt: skip


def check_awaiting_desk(state: DossierState) -> None:
    """Only an online submission not yet checked can be received or denied by a desk."""
    if state is not DossierState.SUBMITTED:
        raise Refused(
            "invalid_state", f"a {state.value} dossier is not waiting for a desk",
            field="state", state=state.value,
        )  # fmt: skip


# --- the applicant's public view ------------------------------------------------------

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
    arriving late does not roll them back. Public facts add a history step in time order.
    """
    if any(step.event_id == event_id for step in dossier.history):
        return None  # written by intake itself, or already applied
    fields: dict[str, Any] = {}
    latest = dossier.applied_up_to
    if latest is None or _ms(at) >= _ms(latest):
        fields = {"state": fact.state, "holding_unit": fact.holding_unit, "applied_up_to": at}
        if (moved := new_appointment_date(fact)) is not None:
            fields["appointment_date"] = moved
        if isinstance(fact, ApologyIssued):
            fields["apology_appointment_date"] = fact.apology.new_appointment_date
    if event_type in PUBLIC_STEPS:
        step = PublicStep.of(fact, event_id, event_type, at)
        # A stable sort: facts of the same instant keep their arrival order.
        fields["history"] = sorted([*dossier.history, step], key=lambda s: _ms(s.at))
    return dossier.changed(**fields) if fields else None


def _ms(moment: datetime) -> datetime:
    # The store keeps milliseconds: compare at that precision.
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


# --- retention of personal data ---------------------------------------------------------

# The states a dossier never leaves: refused at intake, withdrawn before reception,
# stopped (on a withdrawal request or by its unit), result handed over. RESULT_READY
# (awaiting collection) and every other state are still running.
CLOSED_STATES = frozenset(
    {DossierState.DENIED, DossierState.WITHDRAWN, DossierState.STOPPED, DossierState.DONE}
)


def ended_at(dossier: IntakeDossier) -> datetime | None:
    """When a closed dossier ended: the time of the fact that closed it (the latest fact
    applied, ``applied_up_to``: a closed dossier takes no later state); None while it runs."""
    return dossier.applied_up_to if dossier.state in CLOSED_STATES else None


def erasure_cutoff(now: datetime, retention: timedelta) -> datetime:
    """Dossiers that ended before this moment are past the retention."""
    return now - retention


def personal_data_due(dossier: IntakeDossier, now: datetime, retention: timedelta) -> bool:
    """Whether the retention has passed for a dossier's personal data: it is closed, ended
    more than ``retention`` before ``now``, and was not erased yet."""
    end = ended_at(dossier)
    return not dossier.erased and end is not None and _ms(end) < _ms(erasure_cutoff(now, retention))


def erasure_fact(erased: IntakeDossier, retention: timedelta) -> PersonalDataErased:
    """The fact of a dossier's erasure (``IntakeDossier.without_personal_data``): its
    code, closed state, when it ended and was erased, the retention; nothing personal."""
    end = ended_at(erased)
    if end is None or erased.state is None or erased.personal_data_erased_at is None:
        raise ValueError(f"dossier {erased.code} is not closed and erased")
    return PersonalDataErased(
        dossier_code=erased.code,
        receiving_unit=erased.receiving_unit,
        state=erased.state,
        closed_at=end,
        erased_at=erased.personal_data_erased_at,
        retention_days=retention.days,
    )


def check_personal_data_kept(dossier: IntakeDossier) -> None:
    """What prints or hands out the applicant's personal data (forms, the name for
    routing's forms) needs them: an erased dossier answers 410 ``personal_data_erased``."""
    if (erased_at := dossier.personal_data_erased_at) is not None:
        raise Refused(
            "personal_data_erased",
            f"the personal data of dossier {dossier.code} were erased when its retention "
            "period ended; the dossier's state is still available to its look-up",
            field=None, erased_at=erased_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        )  # fmt: skip
