"""Builders for routing's unit tests: received events, contexts, dossiers in each state."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import cache

from routing.domain.model import Context, Decision, Dossier
from routing.domain.route import resolve_route
from routing.domain.workflow import decide_command, decide_start

from shared.calendar import WorkingCalendar, load_calendar
from shared.catalogue.configuration import Catalogue
from shared.catalogue.loading import load_catalogue
from shared.events.commands import (
    AcceptTransfer,
    CompleteStep,
    HandOverResult,
    RequestSupplement,
    ReturnResult,
    StopProcessing,
    UnitCommand,
)
from shared.events.dossier import (
    ApplicantRef,
    BroughtDocument,
    DocumentRef,
    DossierState,
    StepOutcome,
    documents_hash,
)
from shared.events.reception import DossierReceived

# Inter-level land-use change: commune desk -> district committee -> province department -> desk.
LAND_CHANGE = "1.012815"
TAN_HOA_DESK = "001.21.31.H59"
DISTRICT_COMMITTEE = "000.00.31.H59"
PROVINCE_NATURAL_RESOURCES = "000.00.09.H59"
VAM_LANG_DESK = "001.22.31.H59"
# Monday 2 March 2026, 09:00 in Vietnam (UTC+7): a plain working week.
MONDAY_9AM = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


@cache
def catalogue(configuration: str = "three-level") -> Catalogue:
    return load_catalogue(configuration)


@cache
def calendar() -> WorkingCalendar:
    return load_calendar()


def context(now: datetime, configuration: str = "three-level", cause: str = "cause") -> Context:
    return Context(calendar=calendar(), catalogue=catalogue(configuration), now=now, cause_id=cause)


def document(name: str = "Đơn xin chuyển mục đích", kind: str = "application") -> BroughtDocument:
    """A document as a submission or a supplement hands it in (its type a catalogue code)."""
    return BroughtDocument(name=name, type=kind, size_bytes=1234, sha256="a" * 64)


def received(
    code: str | None = None,
    *,
    procedure: str = LAND_CHANGE,
    unit: str = TAN_HOA_DESK,
    at: datetime = MONDAY_9AM,
    configuration: str = "three-level",
    area_unit: str | None = None,
    applicant: ApplicantRef | None = None,
    documents: list[DocumentRef] | None = None,
) -> DossierReceived:
    """dossier.received as intake emits it at ``unit``; dates from the catalogue and calendar."""
    proc = catalogue(configuration).procedure(procedure)
    docs = documents or [document()]
    cal = calendar()
    return DossierReceived(
        dossier_code=code or f"{unit}-260302-0001",
        state=DossierState.RECEIVED,
        holding_unit=unit,
        procedure_code=procedure,
        procedure_version=proc.version,
        receiving_unit=unit,
        received_at=at,
        clock_starts_on=cal.clock_start(at, proc.intake_cutoff),
        appointment_date=cal.due_date(at, proc.total_budget_days, proc.intake_cutoff),
        total_budget_days=proc.total_budget_days,
        applicant=applicant or ApplicantRef(identity_hash="b" * 64),
        documents=docs,
        documents_hash=documents_hash(docs),
        area_unit=area_unit,
        calendar_version=cal.provenance,
    )


def start(event: DossierReceived | None = None, configuration: str = "three-level") -> Decision:
    """Routing's first decision on a received dossier: its route planned, the desk's step."""
    event = event or received(configuration=configuration)
    cat = catalogue(configuration)
    on = calendar().local_date(event.received_at)
    route = resolve_route(cat, event.procedure_code, event.receiving_unit, on, event.area_unit)
    ctx = context(event.received_at, configuration)
    return decide_start(event, route, cat.procedure(event.procedure_code), ctx)


def act(d: Dossier, cmd: UnitCommand, at: datetime, configuration: str = "three-level") -> Decision:
    return decide_command(d, cmd, context(at, configuration, cause=f"{cmd.EVENT_TYPE}@{at}"))


def later(days: float) -> datetime:
    return MONDAY_9AM + timedelta(days=days)


def day(d: int) -> date:
    return date(2026, 3, d)


def complete(d: Dossier, unit: str, outcome: StepOutcome = StepOutcome.APPROVE) -> CompleteStep:
    """A completion; a refusal (reject) states its reason, as it must."""
    note = "Không đủ điều kiện" if outcome is StepOutcome.REJECT else None
    return CompleteStep(dossier_code=d.code, unit=unit, outcome=outcome, note=note)


def accept(d: Dossier, unit: str) -> AcceptTransfer:
    return AcceptTransfer(dossier_code=d.code, unit=unit)


def dossier_in(state: str) -> Dossier:
    """A dossier of the land-use journey in a named situation (see SITUATIONS)."""
    d = start().dossier
    if state == "processing":
        return d
    d = act(d, complete(d, TAN_HOA_DESK), later(0.1)).dossier
    if state == "in_transfer":
        return d
    d = act(d, accept(d, DISTRICT_COMMITTEE), later(0.2)).dossier
    if state == "processing_district":
        return d
    if state == "supplement_requested":
        cmd = RequestSupplement(
            dossier_code=d.code, unit=DISTRICT_COMMITTEE, missing_documents=["x"], reason="r"
        )
        return act(d, cmd, later(0.3)).dossier
    if state == "stopped":
        cmd_stop = StopProcessing(dossier_code=d.code, unit=DISTRICT_COMMITTEE, reason="r")
        return act(d, cmd_stop, later(0.3)).dossier
    d = act(d, complete(d, DISTRICT_COMMITTEE, StepOutcome.REJECT), later(1)).dossier
    d = act(d, accept(d, TAN_HOA_DESK), later(1.1)).dossier
    if state == "processing_final":
        return d
    d = act(d, ReturnResult(dossier_code=d.code, unit=TAN_HOA_DESK), later(1.2)).dossier
    if state == "result_ready":
        return d
    d = act(d, HandOverResult(dossier_code=d.code, unit=TAN_HOA_DESK), later(1.3)).dossier
    if state == "done":
        return d
    raise ValueError(state)
