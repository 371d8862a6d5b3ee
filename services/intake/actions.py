"""Intake's HTTP-initiated actions: submit, record a refusal, receive or deny an online
submission, withdraw. Each decides with ``domain.py``, then stores the dossier and
emits its facts in one unit of work (one transaction; the relay is woken after it).
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from intake.config import IntakeOptions
from intake.domain.admission import Admission, admit, admit_refusal
from intake.domain.codes_and_dates import DOSSIER_CODE_PATTERN, format_dossier_code, sequence_name
from intake.domain.state_checks import check_awaiting_desk
from intake.dossiers import (
    Decision,
    applicant_contact,
    applied_own_fact,
    contact_registered,
    decide_denial,
    decide_desk_refusal,
    decide_reception,
    decide_submission,
    decide_supplement,
    decide_supplement_request,
    decide_withdrawal,
    new_dossier,
)
from intake.idempotency import IdempotentCreation, Outcome
from intake.model import IntakeDossier
from intake.schemas.requests import (
    ApplicantIn,
    DeskDenialRequest,
    DeskSupplementRequest,
    DocumentIn,
    SubmissionChannel,
    SubmissionRequest,
)
from intake.schemas.responses import Receipt
from intake.schemas.subject_access import SubjectAccessAnswer, SubjectAccessRequest
from intake.store import IntakeStore
from intake.tokens import identity_hash, new_lookup_token, token_matches
from intake.views import subject_dossier
from shared.calendar import WorkingCalendar
from shared.catalogue.configuration import Catalogue
from shared.clock import Clock
from shared.envelope import Envelope
from shared.events.dossier import DocumentRef
from shared.events.operations import SubjectAccessAnswered
from shared.mongo.client import Session
from shared.refusals import Refused
from shared.runtime import ServiceRuntime
from shared.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

SUBMIT_ROUTE = "POST /v1/dossiers"
DENIAL_ROUTE = "POST /v1/dossiers/denials"
SUPPLEMENT_REQUEST_ROUTE = "POST /v1/dossiers/supplement-requests"


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

    def hash_identity(self, applicant: ApplicantIn | SubjectAccessRequest) -> str:
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

    def decide(dossier: IntakeDossier) -> Decision:
        return decide_submission(dossier, ctx.calendar, admission, now)

    return await _create_coded(ctx, creation, admission, request, request.channel, now, decide)


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

    def decide(dossier: IntakeDossier) -> Decision:
        return decide_desk_refusal(dossier, ctx.catalogue, request.reason, now)

    return await _create_coded(ctx, creation, admission, request, "desk", now, decide)


async def ask_supplement_at_desk(
    ctx: Intake, request: DeskSupplementRequest, key: str | None
) -> Outcome:
    """A desk asks the applicant to supplement a dossier it was handed (Mẫu 02): the
    dossier gets a code and waits for the supplement; it is not received."""
    now = ctx.now()
    creation = ctx.creation(SUPPLEMENT_REQUEST_ROUTE, key, request.model_dump(mode="json"), now)
    if (replay := await creation.earlier()) is not None:
        return replay
    admission = admit(  # a desk that may receive it, in force: only its documents are lacking
        ctx.catalogue,
        procedure_code=request.procedure_code,
        receiving_unit=request.receiving_unit,
        area_unit=request.area_unit,
        document_types=None,
        on=ctx.calendar.local_date(now),
    )

    def decide(dossier: IntakeDossier) -> Decision:
        return decide_supplement_request(dossier, request.missing_documents, request.guidance, now)

    return await _create_coded(ctx, creation, admission, request, "desk", now, decide)


async def _create_coded(
    ctx: Intake,
    creation: IdempotentCreation,
    admission: Admission,
    request: SubmissionRequest | DeskDenialRequest | DeskSupplementRequest,
    channel: SubmissionChannel,
    now: datetime,
    decide: Callable[[IntakeDossier], Decision],
) -> Outcome:
    """Allocate the code, store the dossier and its first fact in one transaction."""
    contact = applicant_contact(request.applicant, ctx.hash_identity(request.applicant))

    async def create(uow: UnitOfWork) -> Receipt:
        code = await _allocate_code(ctx, admission.unit.code, now, uow.session)
        token = new_lookup_token(ctx.options.lookup_token_bytes)
        dossier = new_dossier(
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
            address=request.applicant.address,
        )
        dossier, first = _record(decide(dossier), now, uow)
        # The one way the name and contact leave intake: on their own topic, for
        # notification, caused by the dossier's first fact (same unit of work).
        uow.caused_by(first).emit(contact_registered(dossier, now))
        dossier = _numbered(uow, dossier, 1)
        await ctx.store.insert_dossier(dossier, uow.session)
        return receipt_of(ctx, dossier, token)

    async with ctx.code_locks[admission.unit.code]:
        # Under the agency's lock, the day's counter is created once, and never while
        # one of this process's transactions is moving it (that would be a conflict).
        await _prepare_code(ctx, admission.unit.code, now)
        return await creation.run(create)


async def receive_submission(ctx: Intake, code: str) -> IntakeDossier:
    """A desk accepts an online submission: checked again, appointment counted from now."""
    now = ctx.now()
    dossier = await dossier_for_desk(ctx, code)
    check_awaiting_desk(dossier.current_state)  # before the catalogue's checks
    admission = admit(
        ctx.catalogue,
        procedure_code=dossier.procedure_code,
        receiving_unit=dossier.receiving_unit,
        area_unit=dossier.area_unit,
        document_types=[d.type for d in dossier.documents],
        on=ctx.calendar.local_date(now),
    )
    return await _change(
        ctx, code, now, lambda d: decide_reception(d, ctx.calendar, admission, now)
    )


async def deny_submission(ctx: Intake, code: str, reason: str) -> IntakeDossier:
    """A desk refuses an online submission, with the reason (refusal notice kept)."""
    now = ctx.now()
    return await _change(ctx, code, now, lambda d: decide_denial(d, ctx.catalogue, reason, now))


async def ask_supplement(
    ctx: Intake, code: str, missing: list[str], guidance: str
) -> IntakeDossier:
    """A desk asks the applicant to supplement an online submission it checked (Mẫu 02)."""
    now = ctx.now()
    return await _change(
        ctx, code, now, lambda d: decide_supplement_request(d, missing, guidance, now)
    )


async def supplement(
    ctx: Intake, code: str, token: str | None, documents: list[DocumentIn]
) -> IntakeDossier:
    """The applicant supplements a dossier the desk asked to complete (409 otherwise)."""
    await dossier_for_applicant(ctx, code, token)
    now = ctx.now()
    refs = [DocumentRef(**d.model_dump()) for d in documents]
    return await _change(ctx, code, now, lambda d: decide_supplement(d, refs, now))


async def withdraw(ctx: Intake, code: str, token: str | None, reason: str | None) -> IntakeDossier:
    """The applicant withdraws, if the state allows it (409 otherwise)."""
    await dossier_for_applicant(ctx, code, token)
    now = ctx.now()
    return await _change(ctx, code, now, lambda d: decide_withdrawal(d, reason, now))


async def dossier_for_applicant(ctx: Intake, code: str, token: str | None) -> IntakeDossier:
    """The dossier, if the token is its look-up token; otherwise the one 404 for every miss."""
    dossier = await ctx.store.get_dossier(code) if DOSSIER_CODE_PATTERN.match(code) else None
    if dossier is None or not token_matches(token, dossier.lookup_token_hash):
        raise not_found()
    return dossier


async def dossier_for_desk(ctx: Intake, code: str, session: Session | None = None) -> IntakeDossier:
    """The dossier a desk acts on."""
    dossier = (
        await ctx.store.get_dossier(code, session) if DOSSIER_CODE_PATTERN.match(code) else None
    )
    if dossier is None:
        raise not_found()
    return dossier


# More dossiers than one person plausibly has: the answer stays bounded and says when it
# leaves some out (``truncated``).
SUBJECT_ACCESS_LIMIT = 1000


async def subject_access(
    ctx: Intake, request: SubjectAccessRequest, officer: str
) -> SubjectAccessAnswer:
    """What intake holds about one data subject: the dossiers whose identity hash is the
    hash of the number given (computed with intake's key, as at submission). Each answer
    is recorded (``operations.subject-access.answered.v1``, which audit logs) and logged,
    with the officer and the dossier codes, never the number or its hash."""
    now = ctx.now()
    found = await ctx.store.dossiers_of_subject(
        ctx.hash_identity(request), SUBJECT_ACCESS_LIMIT + 1
    )
    dossiers, truncated = found[:SUBJECT_ACCESS_LIMIT], len(found) > SUBJECT_ACCESS_LIMIT
    answered = SubjectAccessAnswered(
        operator=officer,
        service="intake",
        dossier_codes=[dossier.code for dossier in dossiers],
        answered_at=now,
    )

    async def record(uow: UnitOfWork) -> None:
        uow.emit(answered)

    await ctx.runtime.run_unit_of_work(record)
    log.info(
        "subject access answered",
        extra={
            "officer": officer,
            "identity_type": request.identity_type,
            "dossiers": [dossier.code for dossier in dossiers],
            "truncated": truncated,
        },
    )
    return SubjectAccessAnswer(
        identity_type=request.identity_type,
        answered_at=now,
        dossiers=[subject_dossier(dossier) for dossier in dossiers],
        truncated=truncated,
    )


def receipt_of(ctx: Intake, dossier: IntakeDossier, token: str) -> Receipt:
    """The receipt of a new dossier: the only place the look-up token is ever shown."""
    procedure = ctx.catalogue.procedure(dossier.procedure_code)
    stored = dossier.model_dump(mode="json")
    return Receipt.model_validate(
        {
            **{k: stored[k] for k in Receipt.model_fields if k in stored},
            "code": dossier.code,
            "procedure_name": procedure.name,
            "lookup_token": token,
            "lookup_path": f"/v1/dossiers/{dossier.code}",
        }
    )


def _record(decision: Decision, now: datetime, uow: UnitOfWork) -> tuple[IntakeDossier, Envelope]:
    """Emit the decision's fact and apply it to the stored view (same unit of work)."""
    dossier, fact = decision
    [event] = uow.emit(fact, correlation_id=dossier.correlation_id)
    return applied_own_fact(_numbered(uow, dossier, 1), fact, event, now), event


def _numbered(uow: UnitOfWork, dossier: IntakeDossier, count: int) -> IntakeDossier:
    """The dossier once the ``count`` facts about it just emitted are numbered by its own
    write (it carries the last number): no counter write. One stored before the field
    existed is left to the outbox, which numbers it from its counter."""
    if dossier.outbox_seq is None:
        return dossier
    first = dossier.outbox_seq + 1
    uow.numbered(dossier.code, range(first, first + count))
    return dossier.model_copy(update={"outbox_seq": first + count - 1})


async def _prepare_code(ctx: Intake, agency: str, now: datetime) -> None:
    await ctx.store.prepare_sequence(sequence_name(agency, ctx.calendar.local_date(now)))


async def _allocate_code(ctx: Intake, agency: str, now: datetime, session: Session) -> str:
    """The next code of the agency's local day, in the caller's transaction (no gaps)."""
    local_day = ctx.calendar.local_date(now)
    seq = await ctx.store.next_sequence(sequence_name(agency, local_day), session)
    return format_dossier_code(agency, local_day, seq)


async def _change(
    ctx: Intake, code: str, now: datetime, decide: Callable[[IntakeDossier], Decision]
) -> IntakeDossier:
    """Decide on the dossier as it stands in the transaction, store it, emit the fact."""

    async def work(uow: UnitOfWork) -> IntakeDossier:
        dossier, _ = _record(decide(await dossier_for_desk(ctx, code, uow.session)), now, uow)
        await ctx.store.replace_dossier(dossier, uow.session)
        return dossier

    return await ctx.runtime.run_unit_of_work(work, now=now, grouped=True)
