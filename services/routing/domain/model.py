"""The routed dossier: where it is, who holds it, its steps, deadlines and history."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from routing.domain.history import HistoryEntry
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
