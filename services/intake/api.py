"""HTTP routes of the intake service (thin: validate, call an action, map errors)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Query, Request, Response

from intake import actions
from intake.actions import Intake
from intake.idempotency import Outcome
from intake.problems import (
    DESK_ACTION_ERRORS,
    RECEPTION_ERRORS,
    SUBMISSION_ERRORS,
    SUPPLEMENT_ERRORS,
    SUPPLEMENT_REQUEST_ERRORS,
    WITHDRAWAL_ERRORS,
    problems,
)
from intake.schemas import (
    CatalogueInfo,
    DenialRequest,
    DeskDenialRequest,
    DeskSupplementRequest,
    DossierView,
    ProcedureOut,
    ProcedurePage,
    Receipt,
    SubmissionRequest,
    SupplementIn,
    SupplementRequestIn,
    UnitOut,
    UnitPage,
    WithdrawalRequest,
)
from intake.views import dossier_view
from shared.auth import EVERYONE, Principal, Role, acting_unit, allow
from shared.refusals import Refused
from shared.time_bounds import BoundedDate

router = APIRouter(prefix="/v1")

TAGS = [
    {"name": "catalogue", "description": "Units and procedures, read-only, from versioned data."},
    {"name": "dossiers", "description": "Submitting dossiers and recording refusals at intake."},
    {"name": "desk", "description": "A desk checks online submissions."},
    {
        "name": "applicants",
        "description": "Look-up, supplement and withdrawal with the secret token.",
    },
]


async def intake_of(request: Request) -> Intake:
    """The running service's actions context (set by the lifespan). Async, so FastAPI
    calls it in the event loop rather than handing it to a worker thread per request."""
    ctx: Intake = request.app.state.intake
    return ctx


IntakeDep = Annotated[Intake, Depends(intake_of)]
# Submissions and a desk's decisions: the unit's desk staff or its agency system, for the
# unit of their token only.
Desk = Annotated[Principal, allow(Role.DESK, Role.AGENCY)]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Makes retries safe: same key and body, same receipt; "
        "same key and another body, 409. 8-128 of A-Z a-z 0-9 _ . : -",
    ),
]
LookupTokenHeader = Annotated[
    str | None, Header(alias="X-Lookup-Token", description="The receipt's look-up token.")
]
LookupTokenQuery = Annotated[
    str | None, Query(description="The look-up token, if a header cannot be set.")
]
Limit = Annotated[int, Query(ge=1, le=200, description="Page size.")]
Offset = Annotated[int, Query(ge=0, le=100_000, description="Items to skip.")]


async def _check_desk(ctx: Intake, caller: Principal, code: str) -> None:
    """Only the desk the dossier was sent to decides on it."""
    dossier = await actions.dossier_for_desk(ctx, code)
    acting_unit(caller, dossier.receiving_unit, field="code")


def _receipt(outcome: Outcome, response: Response) -> Receipt:
    if outcome.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return outcome.receipt


# --- catalogue --------------------------------------------------------------------


@router.get(
    "/units",
    tags=["catalogue"],
    dependencies=[allow(*EVERYONE)],
    summary="List administrative units",
    description="Units of the loaded configuration, in code order, filtered and paged. "
    "Nothing assumes a number of levels: `level` is whatever the data names.",
    response_model=UnitPage,
    responses=problems("invalid_request"),
)
async def list_units(
    ctx: IntakeDep,
    level: Annotated[str | None, Query(max_length=64, description="Level, e.g. commune.")] = None,
    kind: Annotated[
        str | None, Query(max_length=64, description="Kind, e.g. one_stop_desk.")
    ] = None,
    parent: Annotated[str | None, Query(max_length=32, description="Parent unit code.")] = None,
    receives_dossiers: Annotated[bool | None, Query(description="Desks only.")] = None,
    in_force_on: Annotated[
        BoundedDate | None, Query(description="Only units valid that day.")
    ] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> UnitPage:
    criteria = {"level": level, "kind": kind, "parent": parent}
    criteria["receives_dossiers"] = receives_dossiers  # type: ignore[assignment]
    total, docs = await ctx.store.find_units(criteria, in_force_on, limit, offset)
    return UnitPage(
        catalogue=CatalogueInfo(**await ctx.store.catalogue_info()),
        total=total,
        limit=limit,
        offset=offset,
        items=[UnitOut.model_validate(d) for d in docs],
    )


@router.get(
    "/units/{code}",
    tags=["catalogue"],
    dependencies=[allow(*EVERYONE)],
    summary="One administrative unit",
    description="Retired units stay readable, with `valid_to` and `successor`.",
    response_model=UnitOut,
    responses=problems("not_found", "invalid_request"),
)
async def get_unit(ctx: IntakeDep, code: str) -> UnitOut:
    doc = await ctx.store.get_unit(code)
    if doc is None:
        raise Refused("not_found", f"no unit {code}", field="code")
    return UnitOut.model_validate(doc)


@router.get(
    "/procedures",
    tags=["catalogue"],
    dependencies=[allow(*EVERYONE)],
    summary="List procedures",
    description="Procedures of the loaded configuration. `receivable_at` keeps those the "
    "given unit may receive (by kind and level).",
    response_model=ProcedurePage,
    responses=problems("invalid_request", "unknown_unit"),
)
async def list_procedures(
    ctx: IntakeDep,
    field: Annotated[str | None, Query(max_length=200, description="Field, vi or en.")] = None,
    receivable_at: Annotated[
        str | None, Query(max_length=32, description="Unit code: what it may receive.")
    ] = None,
    in_force_on: Annotated[
        BoundedDate | None, Query(description="Only those valid that day.")
    ] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> ProcedurePage:
    criteria: dict[str, Any] = {}
    if field is not None:
        criteria["$or"] = [{"field": field}, {"field_en": field}]
    if receivable_at is not None:
        unit = await ctx.store.get_unit(receivable_at)
        if unit is None:
            raise Refused("unknown_unit", f"no unit {receivable_at}", field="receivable_at")
        criteria["receiving_kinds"] = unit["kind"]
        criteria["receiving_levels"] = unit["level"]
        if not unit["receives_dossiers"]:
            criteria["_id"] = {"$in": []}
    total, docs = await ctx.store.find_procedures(criteria, in_force_on, limit, offset)
    return ProcedurePage(
        catalogue=CatalogueInfo(**await ctx.store.catalogue_info()),
        total=total,
        limit=limit,
        offset=offset,
        items=[ProcedureOut.model_validate(d) for d in docs],
    )


@router.get(
    "/procedures/{code}",
    tags=["catalogue"],
    dependencies=[allow(*EVERYONE)],
    summary="One procedure",
    description="Required documents, fees, cut-off and the route with working-day budgets.",
    response_model=ProcedureOut,
    responses=problems("not_found", "invalid_request"),
)
async def get_procedure(ctx: IntakeDep, code: str) -> ProcedureOut:
    doc = await ctx.store.get_procedure(code)
    if doc is None:
        raise Refused("not_found", f"no procedure {code}", field="code")
    return ProcedureOut.model_validate(doc)


# --- dossiers ---------------------------------------------------------------------


@router.post(
    "/dossiers",
    tags=["dossiers"],
    summary="Submit a dossier",
    description="Checks the dossier against the catalogue, allocates its code, computes the "
    "appointment date (desk, agency) and announces it (dossier.received.v2, or "
    "dossier.submitted.v2 for online submissions). The receipt carries the look-up token, "
    "shown only here. A replay with the same Idempotency-Key and body returns the first "
    "receipt with the header `Idempotent-Replayed: true`.",
    status_code=201,
    response_model=Receipt,
    responses=problems(*SUBMISSION_ERRORS),
)
async def submit_dossier(
    ctx: IntakeDep,
    caller: Desk,
    response: Response,
    body: Annotated[SubmissionRequest, Body()],
    idempotency_key: IdempotencyKey = None,
) -> Receipt:
    acting_unit(caller, body.receiving_unit, field="receiving_unit")
    return _receipt(await actions.submit_dossier(ctx, body, idempotency_key), response)


@router.post(
    "/dossiers/denials",
    tags=["dossiers"],
    summary="Record a refusal at intake",
    description="The desk refuses a dossier it was handed (phiếu từ chối, Mẫu 03): the dossier "
    "gets a code, state DENIED with the reason, and dossier.denied.v2 is announced. A refusal "
    "is for a dossier the desk cannot take (not its competence, a procedure not in force, "
    "a request the law does not allow); an incomplete dossier is not refused but sent a "
    "supplement request (POST /v1/dossiers/supplement-requests, Mẫu 02). The procedure's "
    "required documents are not checked here.",
    status_code=201,
    response_model=Receipt,
    responses=problems(*SUBMISSION_ERRORS),
)
async def deny_at_desk(
    ctx: IntakeDep,
    caller: Desk,
    response: Response,
    body: Annotated[DeskDenialRequest, Body()],
    idempotency_key: IdempotencyKey = None,
) -> Receipt:
    acting_unit(caller, body.receiving_unit, field="receiving_unit")
    return _receipt(await actions.deny_at_desk(ctx, body, idempotency_key), response)


@router.post(
    "/dossiers/supplement-requests",
    tags=["dossiers"],
    summary="Ask to supplement a dossier handed in at the desk (Mẫu 02)",
    description="The desk finds the dossier it was handed incomplete or incorrect and, "
    "instead of refusing it, asks the applicant to supplement it (phiếu yêu cầu bổ sung, "
    "hoàn thiện hồ sơ, Mẫu 02): the dossier gets a code and state SUPPLEMENT_REQUESTED "
    "(portal status 5), no appointment, and dossier.intake.supplement.requested.v1 is "
    "announced. The catalogue is checked as for a submission except the documents. The "
    "receipt carries the look-up token: the applicant prints Mẫu 02 (forms/02), supplements "
    "with POST /v1/dossiers/{code}/supplement, then the desk receives or refuses it. A "
    "replay with the same Idempotency-Key and body returns the first receipt.",
    status_code=201,
    response_model=Receipt,
    responses=problems(*SUPPLEMENT_REQUEST_ERRORS),
)
async def ask_supplement_at_desk(
    ctx: IntakeDep,
    caller: Desk,
    response: Response,
    body: Annotated[DeskSupplementRequest, Body()],
    idempotency_key: IdempotencyKey = None,
) -> Receipt:
    acting_unit(caller, body.receiving_unit, field="receiving_unit")
    return _receipt(await actions.ask_supplement_at_desk(ctx, body, idempotency_key), response)


@router.post(
    "/dossiers/{code}/reception",
    tags=["desk"],
    summary="Receive an online submission",
    description="The desk accepts a SUBMITTED dossier: checked again against the catalogue, "
    "appointment counted from now, dossier.received.v2 (channel online) announced.",
    response_model=DossierView,
    responses=problems(*RECEPTION_ERRORS),
)
async def receive_submission(ctx: IntakeDep, caller: Desk, code: str) -> DossierView:
    await _check_desk(ctx, caller, code)
    return dossier_view(ctx.catalogue, await actions.receive_submission(ctx, code))


@router.post(
    "/dossiers/{code}/denial",
    tags=["desk"],
    summary="Refuse an online submission",
    description="The desk refuses a SUBMITTED dossier with the reason: DENIED, refusal "
    "notice kept, dossier.denied.v2 announced.",
    response_model=DossierView,
    responses=problems(
        "malformed_json", "not_found", "invalid_state", "invalid_request", "body_too_large"
    ),
)
async def deny_submission(
    ctx: IntakeDep, caller: Desk, code: str, body: Annotated[DenialRequest, Body()]
) -> DossierView:
    await _check_desk(ctx, caller, code)
    return dossier_view(ctx.catalogue, await actions.deny_submission(ctx, code, body.reason))


@router.post(
    "/dossiers/{code}/supplement-request",
    tags=["desk"],
    summary="Ask to supplement an online submission (Mẫu 02)",
    description="The desk finds a SUBMITTED dossier incomplete and asks the applicant to "
    "supplement it instead of refusing it: SUPPLEMENT_REQUESTED, no appointment, "
    "dossier.intake.supplement.requested.v1 announced. A second call finds it no longer "
    "SUBMITTED (409 `invalid_state`), so a retry never asks twice.",
    response_model=DossierView,
    responses=problems(*DESK_ACTION_ERRORS),
)
async def ask_supplement(
    ctx: IntakeDep, caller: Desk, code: str, body: Annotated[SupplementRequestIn, Body()]
) -> DossierView:
    await _check_desk(ctx, caller, code)
    dossier = await actions.ask_supplement(ctx, code, body.missing_documents, body.guidance)
    return dossier_view(ctx.catalogue, dossier)


# --- applicants -------------------------------------------------------------------


@router.get(
    "/dossiers/{code}",
    tags=["applicants"],
    summary="Look up a dossier",
    description="Current state, the unit now holding the dossier, the appointment date and "
    "the public steps. Needs the receipt's look-up token (header X-Lookup-Token preferred; "
    "query `token` otherwise). An unknown code, a wrong or a missing token all give the same "
    "404.",
    response_model=DossierView,
    responses=problems("not_found", "invalid_request"),
)
async def look_up(
    ctx: IntakeDep,
    code: str,
    x_lookup_token: LookupTokenHeader = None,
    token: LookupTokenQuery = None,
) -> DossierView:
    doc = await actions.dossier_for_applicant(ctx, code, x_lookup_token or token)
    return dossier_view(ctx.catalogue, doc)


@router.post(
    "/dossiers/{code}/supplement",
    tags=["applicants"],
    summary="Supplement a dossier the desk asked to complete",
    description="The documents the desk's request (Mẫu 02) asked for are added to a dossier "
    "in SUPPLEMENT_REQUESTED that no desk has received; it is SUBMITTED again "
    "(dossier.intake.supplement.provided.v1) and waits for the desk, which receives it "
    "(appointment counted from then) or refuses it. At the desk, the staff send it with "
    "the token the applicant holds. Otherwise 409 `invalid_state` (so a retry adds nothing "
    "twice). Needs the look-up token like the look-up.",
    response_model=DossierView,
    responses=problems(*SUPPLEMENT_ERRORS),
)
async def supplement(
    ctx: IntakeDep,
    code: str,
    body: Annotated[SupplementIn, Body()],
    x_lookup_token: LookupTokenHeader = None,
    token: LookupTokenQuery = None,
) -> DossierView:
    doc = await actions.supplement(ctx, code, x_lookup_token or token, body.documents)
    return dossier_view(ctx.catalogue, doc)


@router.post(
    "/dossiers/{code}/withdrawal",
    tags=["applicants"],
    summary="Withdraw a dossier (or ask to)",
    description="A SUBMITTED dossier no desk has received, or one the desk asked to "
    "supplement before receiving it, is withdrawn at once "
    "(dossier.withdrawn.v1, portal status 8). A RECEIVED, IN_TRANSFER, PROCESSING, "
    "SUPPLEMENT_REQUESTED or AWAITING_PAYMENT dossier gets a withdrawal request "
    "(dossier.withdrawal.requested.v1, WITHDRAWAL_REQUESTED, portal status 7) that the unit "
    "holding it then stops (status 8). Otherwise 409 `withdrawal_not_allowed`. Needs the "
    "look-up token like the look-up.",
    response_model=DossierView,
    responses=problems(*WITHDRAWAL_ERRORS),
)
async def withdraw(
    ctx: IntakeDep,
    code: str,
    body: Annotated[WithdrawalRequest | None, Body()] = None,
    x_lookup_token: LookupTokenHeader = None,
    token: LookupTokenQuery = None,
) -> DossierView:
    reason = body.reason if body else None
    doc = await actions.withdraw(ctx, code, x_lookup_token or token, reason)
    return dossier_view(ctx.catalogue, doc)
