"""Intake's HTTP-initiated actions: submit, record a refusal, receive or deny an online
submission, withdraw. Each decides with ``domain.py``, then stores the dossier and
emits its facts in one unit of work (one transaction; the relay is woken after it).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from intake.config import IntakeOptions
from intake.domain import (
    DOSSIER_CODE_PATTERN,
    Admission,
    admit,
    admit_refusal,
    check_awaiting_desk,
    check_withdrawal,
    format_dossier_code,
    history_step,
    sequence_name,
)
from intake.dossiers import (
    applicant_contact,
    contact_registered,
    denied_fact,
    new_dossier,
    received_fact,
    reception_fields,
    refusal_notice,
    submitted_fact,
    withdrawn_fact,
)
from intake.idempotency import IdempotentCreation, Outcome
from intake.schemas import (
    ApplicantIn,
    DeskDenialRequest,
    Receipt,
    SubmissionChannel,
    SubmissionRequest,
)
from intake.store import IntakeStore
from intake.tokens import identity_hash, new_lookup_token, token_matches
from shared.calendar import WorkingCalendar
from shared.catalogue import Catalogue
from shared.clock import Clock
from shared.envelope import Envelope
from shared.events.dossier import DocumentRef, DossierFact, DossierState
from shared.mongo.client import Document, Session
from shared.refusals import Refused
from shared.runtime import ServiceRuntime
from shared.unit_of_work import UnitOfWork

SUBMIT_ROUTE = "POST /v1/dossiers"
DENIAL_ROUTE = "POST /v1/dossiers/denials"


def not_found() -> Refused:
    """The one answer to every miss: unknown code, wrong token, no token."""
    return Refused("not_found", "no dossier matches this code and token", field=None)


@dataclass
class Intake:
    """What intake's actions work with, built once by the lifespan."""

    runtime: ServiceRuntime
    store: IntakeStore
    catalogue: Catalogue
    calendar: WorkingCalendar
    options: IntakeOptions
    # One agency's codes come from one counter: transactions of this process that would
    # contend for it take turns here instead of conflicting and retrying in the store.
    # Other instances still conflict, and the transaction retry resolves that.
    code_locks: defaultdict[str, asyncio.Lock] = field(
        default_factory=lambda: defaultdict(asyncio.Lock)
    )

    @property
    def clock(self) -> Clock:
        return self.runtime.clock

    def now(self) -> datetime:
        """The current time in UTC, as stored and published."""
        return self.clock.now().astimezone(UTC)

    def hash_identity(self, applicant: ApplicantIn) -> str:
        key = self.options.identity_hash_key.get_secret_value().encode()
        return identity_hash(key, applicant.identity_type, applicant.identity_number)

    def creation(
        self, route: str, key: str | None, body: dict[str, Any], now: datetime
    ) -> IdempotentCreation:
        return IdempotentCreation(
            store=self.store,
            units=self.runtime.units,
            receipt_key=self.options.receipt_key.get_secret_value().encode(),
            ttl=timedelta(hours=self.options.idempotency_ttl_hours),
            route=route,
            key=key,
            body=body,
            now=now,
        )


async def submit_dossier(ctx: Intake, request: SubmissionRequest, key: str | None) -> Outcome:
    """A desk, portal or agency submission: RECEIVED at once, or SUBMITTED when online."""
    now = ctx.now()
    creation = ctx.creation(SUBMIT_ROUTE, key, request.model_dump(mode="json"), now)
    if (replay := await creation.earlier()) is not None:
        return replay
    admission = admit(
        ctx.catalogue,
        procedure_code=request.procedure_code,
        receiving_unit=request.receiving_unit,
        area_unit=request.area_unit,
        document_types=[d.type for d in request.documents],
        on=ctx.calendar.local_date(now),
    )
    online = request.channel == "online"
    reception = {} if online else reception_fields(ctx.calendar, admission, now)

    def complete(doc: Document) -> DossierFact:
        doc |= reception
        return submitted_fact(doc) if online else received_fact(doc)

    return await _create_coded(ctx, creation, admission, request, request.channel, now, complete)


async def deny_at_desk(ctx: Intake, request: DeskDenialRequest, key: str | None) -> Outcome:
    """A desk records a refusal at intake: the dossier gets a code and is DENIED."""
    now = ctx.now()
    creation = ctx.creation(DENIAL_ROUTE, key, request.model_dump(mode="json"), now)
    if (replay := await creation.earlier()) is not None:
        return replay
    admission = admit_refusal(
        ctx.catalogue,
        procedure_code=request.procedure_code,
        receiving_unit=request.receiving_unit,
        on=ctx.calendar.local_date(now),
    )

    def complete(doc: Document) -> DossierFact:
        doc["refusal"] = refusal_notice(ctx.catalogue, doc, request.reason, now).model_dump()
        return denied_fact(doc, request.reason, now)

    return await _create_coded(ctx, creation, admission, request, "desk", now, complete)


async def _create_coded(
    ctx: Intake,
    creation: IdempotentCreation,
    admission: Admission,
    request: SubmissionRequest | DeskDenialRequest,
    channel: SubmissionChannel,
    now: datetime,
    complete: Callable[[Document], DossierFact],
) -> Outcome:
    """Allocate the code, store the dossier and its first fact in one transaction."""
    contact = applicant_contact(request.applicant, ctx.hash_identity(request.applicant))
    await _prepare_code(ctx, admission.unit.code, now)

    async def create(uow: UnitOfWork) -> Receipt:
        code = await _allocate_code(ctx, admission.unit.code, now, uow.session)
        token = new_lookup_token(ctx.options.lookup_token_bytes)
        doc = new_dossier(
            code=code,
            admission=admission,
            contact=contact,
            documents=[DocumentRef(**d.model_dump()) for d in request.documents],
            area_unit=request.area_unit,
            note=request.note,
            result_delivery=request.result_delivery,
            channel=channel,
            token=token,
            now=now,
        )
        fact = complete(doc)
        first = _record_fact(doc, fact, now, uow)
        _register_contact(doc, first, now, uow)
        await ctx.store.insert_dossier(doc, uow.session)
        return receipt_of(ctx, doc, token)

    async with ctx.code_locks[admission.unit.code]:
        return await creation.run(create)


async def receive_submission(ctx: Intake, code: str) -> Document:
    """A desk accepts an online submission: checked again, appointment counted from now."""
    now = ctx.now()
    doc = await dossier_for_desk(ctx, code)
    check_awaiting_desk(DossierState(doc["state"]))
    admission = admit(
        ctx.catalogue,
        procedure_code=doc["procedure_code"],
        receiving_unit=doc["receiving_unit"],
        area_unit=doc["area_unit"],
        document_types=[d["type"] for d in doc["documents"]],
        on=ctx.calendar.local_date(now),
    )
    reception = reception_fields(ctx.calendar, admission, now)

    async def work(uow: UnitOfWork) -> Document:
        doc = await dossier_for_desk(ctx, code, uow.session)
        check_awaiting_desk(DossierState(doc["state"]))
        doc |= reception
        _record_fact(doc, received_fact(doc), now, uow)
        await ctx.store.replace_dossier(doc, uow.session)
        return doc

    return await _change(ctx, work, now)


async def deny_submission(ctx: Intake, code: str, reason: str) -> Document:
    """A desk refuses an online submission, with the reason (refusal notice kept)."""
    now = ctx.now()

    async def work(uow: UnitOfWork) -> Document:
        doc = await dossier_for_desk(ctx, code, uow.session)
        check_awaiting_desk(DossierState(doc["state"]))
        doc["refusal"] = refusal_notice(ctx.catalogue, doc, reason, now).model_dump()
        _record_fact(doc, denied_fact(doc, reason, now), now, uow)
        await ctx.store.replace_dossier(doc, uow.session)
        return doc

    return await _change(ctx, work, now)


async def withdraw(ctx: Intake, code: str, token: str | None, reason: str | None) -> Document:
    """The applicant withdraws, if the state allows it (409 otherwise)."""
    await dossier_for_applicant(ctx, code, token)
    now = ctx.now()

    async def work(uow: UnitOfWork) -> Document:
        doc = await dossier_for_desk(ctx, code, uow.session)
        check_withdrawal(DossierState(doc["state"]))
        doc["withdrawal"] = {"reason": reason, "at": now}
        _record_fact(doc, withdrawn_fact(doc, reason, now), now, uow)
        await ctx.store.replace_dossier(doc, uow.session)
        return doc

    return await _change(ctx, work, now)


async def dossier_for_applicant(ctx: Intake, code: str, token: str | None) -> Document:
    """The dossier, if the token is its look-up token; otherwise the one 404 for every miss."""
    doc = await ctx.store.get_dossier(code) if DOSSIER_CODE_PATTERN.match(code) else None
    if not token_matches(token, doc["lookup_token_hash"] if doc else None):
        raise not_found()
    assert doc is not None
    return doc


async def dossier_for_desk(ctx: Intake, code: str, session: Session | None = None) -> Document:
    """The dossier a desk acts on."""
    doc = await ctx.store.get_dossier(code, session) if DOSSIER_CODE_PATTERN.match(code) else None
    if doc is None:
        raise not_found()
    return doc


def receipt_of(ctx: Intake, doc: Document, token: str) -> Receipt:
    """The receipt of a new dossier: the only place the look-up token is ever shown."""
    procedure = ctx.catalogue.procedure(doc["procedure_code"])
    return Receipt.model_validate(
        {
            **{k: doc[k] for k in Receipt.model_fields if k in doc},
            "code": doc["_id"],
            "procedure_name": procedure.name,
            "lookup_token": token,
            "lookup_path": f"/v1/dossiers/{doc['_id']}",
        }
    )


def _record_fact(doc: Document, fact: DossierFact, now: datetime, uow: UnitOfWork) -> Envelope:
    """Apply intake's own fact to the stored view and emit it (same unit of work).

    The first fact of a dossier names its flow: its event id becomes the correlation id.
    """
    [event] = uow.emit(fact, correlation_id=doc["correlation_id"])
    step = history_step(event.type, event.id, now, fact.state, fact.holding_unit)
    doc.update(
        state=fact.state.value,
        holding_unit=fact.holding_unit,
        applied_up_to=now,
        correlation_id=event.correlationid,
        history=[*doc["history"], step],
    )
    return event


def _register_contact(doc: Document, first: Envelope, now: datetime, uow: UnitOfWork) -> None:
    """Emit the applicant's contact for notification, on its own topic (same unit of work),
    caused by the dossier's first fact.

    Dossier facts carry only the keyed identity hash; this is the one way the name and
    contact leave intake.
    """
    uow.caused_by(first).emit(contact_registered(doc, now))


async def _prepare_code(ctx: Intake, agency: str, now: datetime) -> None:
    await ctx.store.prepare_sequence(sequence_name(agency, ctx.calendar.local_date(now)))


async def _allocate_code(ctx: Intake, agency: str, now: datetime, session: Session) -> str:
    """The next code of the agency's local day, in the caller's transaction (no gaps)."""
    local_day = ctx.calendar.local_date(now)
    seq = await ctx.store.next_sequence(sequence_name(agency, local_day), session)
    return format_dossier_code(agency, local_day, seq)


async def _change(
    ctx: Intake, work: Callable[[UnitOfWork], Awaitable[Document]], now: datetime
) -> Document:
    return await ctx.runtime.run_unit_of_work(work, now=now)
