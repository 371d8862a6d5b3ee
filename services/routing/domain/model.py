"""The routed dossier: where it is, who holds it, its steps, deadlines and history."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time
from string import Formatter
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.calendar import WorkingCalendar
from shared.catalogue.configuration import Catalogue
from shared.events.deadlines import ApologyNotice
from shared.events.dossier import DocumentRef, DossierFact, DossierState, StepOutcome
from shared.events.handover import HandoverReceipt

# Ids derived from the causing message are stable across transaction retries.
_ID_NAMESPACE = uuid.UUID("6f1d3c52-8f0e-4c1e-9a55-2b7e8c0f4a11")

Outcome = Literal["approved", "rejected"]
RESULT_READY_EVENT = "dossier.result.ready.v1"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Step(_Model):
    """One step of the dossier's route, resolved to a unit, with its own clock."""

    index: int
    name: str
    name_en: str
    unit: str
    budget_days: int
    redirected_from: str | None = None
    started_at: datetime | None = None
    due_date: date | None = None
    accepted_at: datetime | None = None
    completed_at: datetime | None = None
    outcome: StepOutcome | None = None
    skipped: bool = False
    overdue_raised: bool = False
    due_soon_raised: bool = False
    paused_working_days: int = 0
    calendar_version: str | None = None


class PendingTransfer(_Model):
    """A hand-over waiting for the receiving unit's answer."""

    transfer_id: str
    from_step: int
    step_index: int
    from_unit: str
    to_unit: str
    requested_at: datetime
    step_due_date: date
    redirected_from: str | None = None


class TransferRecord(_Model):
    """A hand-over as it happened (kept for the trail and the flows view)."""

    transfer_id: str
    step_index: int
    from_unit: str
    to_unit: str
    requested_at: datetime
    status: Literal["pending", "accepted", "refused", "cancelled"] = "pending"
    settled_at: datetime | None = None
    reason: str | None = None
    receipt: HandoverReceipt | None = None


class SupplementPause(_Model):
    """An open supplement request: the clock stands still since ``requested_at``."""

    requested_at: datetime
    unit: str
    missing_documents: list[str]
    reason: str


class PaymentPause(_Model):
    """An open payment request: the clock stands still while the applicant pays."""

    requested_at: datetime
    unit: str
    amount_vnd: int
    description: str


class Holding(_Model):
    """A period during which one unit held the dossier (custody changes on acceptance)."""

    unit: str
    step_index: int
    since: datetime
    until: datetime | None = None
    how: Literal["received", "transfer_accepted"]


DetailCode = Literal[
    "transfer_requested",
    "transfer_accepted",
    "transfer_refused",
    "stopped",
    "step_completed",
    "supplement_requested",
    "supplement_requested_again",
    "supplement_provided",
    "step_due_soon",
    "step_overdue",
    "appointment_passed",
    "appointment_passed_new_date_missed",
    "apology_issued",
    "payment_requested",
    "payment_received",
    "withdrawal_declined",
    "apology_issued_late",
    "result_ready",
    "result_returned",
]
"""What a history entry's detail says, as a stable code; its values are its params."""

DetailParams = dict[str, str | int]

DETAIL_TEXTS: dict[DetailCode, str] = {
    "transfer_requested": "step {step_index}: {from_unit} -> {to_unit}, due {step_due_date}",
    "transfer_accepted": "step {step_index}: receipt {receipt_id}",
    "transfer_refused": "{reason}",
    "stopped": "{reason}",
    "step_completed": "step {step_index}: {outcome}",
    "supplement_requested": "{reason}",
    "supplement_requested_again": "{reason} (request no. {request_number})",
    "supplement_provided": "clock paused {paused_working_days} working day(s)",
    "step_due_soon": "step {step_index} due {due_date}, {working_days_left} working day(s) left",
    "step_overdue": "step {step_index} was due {due_date}",
    "appointment_passed": "appointment {appointment_date} passed",
    "appointment_passed_new_date_missed": (
        "appointment {appointment_date} passed, the apology's new date missed too"
    ),
    "apology_issued": "Mẫu 04 no. {number}: new appointment {new_appointment_date}",
    "payment_requested": "{amount_vnd} VND: {description}",
    "payment_received": "{amount_vnd} VND, reference {reference}",
    "withdrawal_declined": "withdrawal requested {requested_date} not taken: {reason_code}",
    "apology_issued_late": (
        "Mẫu 04 no. {number}: new appointment {new_appointment_date}, issued late (due by "
        "{due_date})"
    ),
    "result_ready": "result ready: {lateness}",
    "result_returned": "result returned: {lateness} (ready {ready_date}), collected {collection}",
}
"""Each code's English sentence (the entry's ``detail``), filled with its params."""


def detail_params_of(code: DetailCode) -> list[str]:
    """The names of the params a detail code carries, in the order its sentence says them."""
    return [name for _, name, _, _ in Formatter().parse(DETAIL_TEXTS[code]) if name]


def detail_text(code: DetailCode, params: DetailParams) -> str:
    """The English sentence of a detail (kept in ``detail`` for readers of the text)."""
    return DETAIL_TEXTS[code].format_map(params)


_DETAIL_CODES = "; ".join(
    f"`{code}` ({', '.join(detail_params_of(code))})" for code in DETAIL_TEXTS
)


class HistoryEntry(_Model):
    """One thing that happened to the dossier, as routing recorded it."""

    at: datetime
    event: str
    state: DossierState
    holding_unit: str
    unit: str | None = None
    actor: str | None = None
    command_id: str | None = None
    detail: str | None = Field(
        None,
        description="What happened, as an English sentence (for people; translate "
        "`detail_code` with `detail_params` instead).",
    )
    detail_code: DetailCode | None = Field(
        None,
        description="What `detail` says, as a stable code, with the names of its "
        f"`detail_params`: {_DETAIL_CODES}. Null for an entry without a detail, and "
        "for entries recorded before codes existed (then only `detail` says it).",
    )
    detail_params: DetailParams | None = Field(
        None,
        description="The values of `detail_code`'s sentence: dates as ISO 8601 dates, "
        "step indexes, counts and amounts (VND) as integers, units, ids, references "
        "and free text (reasons, descriptions, as written by the unit) as strings; "
        "`outcome` is `approve`, `reject` or `needs_supplement`.",
    )


class Dossier(_Model):
    """Routing's view of one dossier: the single source for its actions and read views."""

    code: str
    procedure_code: str
    procedure_version: str
    procedure_name: str
    receiving_unit: str
    cutoff: time | None = Field(description="Intake cut-off; None when the procedure has none.")
    received_at: datetime
    state: DossierState
    holding_unit: str
    current_step: int
    steps: list[Step]
    transfer: PendingTransfer | None = None
    supplement: SupplementPause | None = None
    supplement_requests: int = 0
    supplements: list[SupplementPause] = []  # every request made, for Mẫu 02
    payment: PaymentPause | None = None
    apologies: list[ApologyNotice] = []
    area_unit: str | None = None
    result_delivery: str = "desk"
    calendar_version: str | None = None
    paused_working_days: int = 0
    original_appointment_date: date
    due_appointment_date: date
    appointment_date: date
    overdue_raised: bool = False
    outcome: Outcome | None = None
    documents: list[DocumentRef]
    documents_hash: str
    holdings: list[Holding]
    transfers: list[TransferRecord] = []
    history: list[HistoryEntry] = []
    closed_at: datetime | None = None
    result_ready_at: datetime | None = Field(
        None, description="When the returning desk had the result ready for the applicant."
    )
    correlation_id: str = ""
    version: int = 0

    @property
    def step(self) -> Step:
        """The current step."""
        return self.steps[self.current_step]

    @property
    def on_final_step(self) -> bool:
        return self.current_step == len(self.steps) - 1

    @property
    def action_unit(self) -> str | None:
        """The unit that must act next (the receiver of a pending hand-over), if any."""
        if self.state is DossierState.IN_TRANSFER and self.transfer is not None:
            return self.transfer.to_unit
        if self.state in OPEN_STATES:
            return self.holding_unit
        return None

    @property
    def ready_at(self) -> datetime | None:
        """When the result was ready: recorded since 2026-12, else the history says it."""
        if self.result_ready_at is not None:
            return self.result_ready_at
        ready = (e.at for e in reversed(self.history) if e.event == RESULT_READY_EVENT)
        return next(ready, None)

    def holding(self) -> Holding:
        """The open custody period."""
        return self.holdings[-1]

    def copy_to_decide(self) -> Dossier:
        """A deep copy for a decision to change, leaving this one as it is. Rebuilt from
        its dump by pydantic-core: several times faster than ``copy.deepcopy``, which
        grows with the history an action copies."""
        return Dossier.model_validate(self.model_dump())


OPEN_STATES = frozenset(
    {
        DossierState.WITHDRAWAL_REQUESTED,
        DossierState.PROCESSING,
        DossierState.IN_TRANSFER,
        DossierState.SUPPLEMENT_REQUESTED,
        DossierState.AWAITING_PAYMENT,
        DossierState.RESULT_READY,
    }
)
"""States in which routing still expects some unit to act."""


@dataclass(frozen=True)
class Context:
    """What a decision needs besides the dossier: rules data, time, and the cause."""

    calendar: WorkingCalendar
    catalogue: Catalogue
    now: datetime
    cause_id: str

    @property
    def today(self) -> date:
        """The local (Asia/Ho_Chi_Minh) date of ``now``."""
        return self.calendar.local_date(self.now)

    def new_id(self, purpose: str) -> str:
        """An id for something this decision creates, stable if the decision is retried."""
        return str(uuid.uuid5(_ID_NAMESPACE, f"{self.cause_id}/{purpose}"))


@dataclass(frozen=True)
class Decision:
    """The dossier after an action and the facts to publish, in order."""

    dossier: Dossier
    facts: tuple[DossierFact, ...]
