"""New dossiers, each coded in the unit of work that stores it with its first fact: a
submission (received at once, or waiting for a desk when online), a refusal a desk
records, a supplement a desk asks for before receiving (Mẫu 02). Replays of an
``Idempotency-Key`` answer the first receipt.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from intake.actions import Intake, numbered, record_decision
from intake.domain.admission import Admission, admit, admit_refusal
from intake.domain.codes_and_dates import format_dossier_code, sequence_name
from intake.dossier_facts import contact_registered
from intake.dossiers import (
    Decision,
    applicant_contact,
    decide_desk_refusal,
    decide_submission,
    decide_supplement_request,
    new_dossier,
)
from intake.idempotency import IdempotentCreation, Outcome
from intake.model import IntakeDossier
from intake.schemas.requests import (
    DeskDenialRequest,
    DeskSupplementRequest,
    SubmissionChannel,
    SubmissionRequest,
)
from intake.schemas.responses import Receipt
from intake.tokens import new_lookup_token
from shared.events.dossier import DocumentRef
from shared.mongo.client import Session
from shared.unit_of_work import UnitOfWork

SUBMIT_ROUTE = "POST /v1/dossiers"
DENIAL_ROUTE = "POST /v1/dossiers/denials"
SUPPLEMENT_REQUEST_ROUTE = "POST /v1/dossiers/supplement-requests"


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
        dossier, first = record_decision(decide(dossier), now, uow)
        # The one way the name and contact leave intake: on their own topic, for
        # notification, caused by the dossier's first fact (same unit of work).
        uow.caused_by(first).emit(contact_registered(dossier, now))
        dossier = numbered(uow, dossier, 1)
        await ctx.store.insert_dossier(dossier, uow.session)
        return receipt_of(ctx, dossier, token)

    async with ctx.code_locks[admission.unit.code]:
        # Under the agency's lock, the day's counter is created once, and never while
        # one of this process's transactions is moving it (that would be a conflict).
        await _prepare_code(ctx, admission.unit.code, now)
        return await creation.run(create)


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


async def _prepare_code(ctx: Intake, agency: str, now: datetime) -> None:
    await ctx.store.prepare_sequence(sequence_name(agency, ctx.calendar.local_date(now)))


async def _allocate_code(ctx: Intake, agency: str, now: datetime, session: Session) -> str:
    """The next code of the agency's local day, in the caller's transaction (no gaps)."""
    local_day = ctx.calendar.local_date(now)
    seq = await ctx.store.next_sequence(sequence_name(agency, local_day), session)
    return format_dossier_code(agency, local_day, seq)
