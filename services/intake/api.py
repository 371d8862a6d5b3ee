"""HTTP routes of the intake service (thin: validate, call an action, map errors)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, FastAPI, Header, Query, Request, Response
from fastapi.responses import JSONResponse

from intake import actions
from intake.actions import Intake
from intake.domain import Refusal
from intake.idempotency import Outcome
from intake.schemas import (
    CatalogueInfo,
    DenialRequest,
    DeskDenialRequest,
    DossierView,
    Problem,
    ProcedureOut,
    ProcedurePage,
    Receipt,
    SubmissionRequest,
    UnitOut,
    UnitPage,
    WithdrawalRequest,
)
from intake.views import dossier_view
from shared.http import PROBLEM_JSON, problem

router = APIRouter(prefix="/v1")

TAGS = [
    {"name": "catalogue", "description": "Units and procedures, read-only, from versioned data."},
    {"name": "dossiers", "description": "Submitting dossiers and recording refusals at intake."},
    {"name": "desk", "description": "A desk checks online submissions."},
    {"name": "applicants", "description": "Look-up and withdrawal with the secret token."},
]
# Every refusal code intake answers with: status, the field it names, an example detail.
ERRORS: dict[str, tuple[int, str | None, str]] = {
    "malformed_json": (400, "body", "JSON decode error"),
    "not_found": (404, None, "no dossier matches this code and token"),
    "idempotency_key_reused": (409, "Idempotency-Key", "key used with another body"),
    "withdrawal_not_allowed": (409, "state", "a DONE dossier cannot be withdrawn"),
    "invalid_state": (409, "state", "a RECEIVED dossier is not waiting for a desk"),
    "body_too_large": (413, None, "body larger than 1000000 bytes"),
    "invalid_request": (422, "applicant.identity_number", "Value error, not a valid citizen_id"),
    "invalid_idempotency_key": (422, "Idempotency-Key", "8 to 128 characters"),
    "unknown_procedure": (422, "procedure_code", "no procedure 9.999999"),
    "procedure_not_in_force": (422, "procedure_code", "not in force on 2024-07-15"),
    "unknown_unit": (422, "receiving_unit", "no unit 999.99.99.H59"),
    "unit_not_in_force": (422, "receiving_unit", "unit 001.23.31.H59 is not in force"),
    "unit_cannot_receive": (422, "receiving_unit", "level district not in ['commune']"),
    "outside_boundary": (422, "area_unit", "000.22.31.H59 is outside 000.21.31.H59"),
    "missing_document": (422, "documents", "required document(s) missing: birth_certificate"),
    "daily_sequence_exhausted": (503, "receiving_unit", "all 9999 codes of the day are used"),
}
_STATUS_TEXT = {
    400: "The body is not JSON.",
    404: "Nothing matches (for dossiers: an unknown code and a wrong token look the same).",
    409: "Conflicts with the dossier's state or an earlier request.",
    413: "The body is larger than the configured limit.",
    422: "A field is missing, malformed or refused by the catalogue (see `code`, `field`).",
    503: "The desk's daily code sequence is exhausted.",
}
_SUBMISSION_ERRORS = (
    "malformed_json", "idempotency_key_reused", "body_too_large", "invalid_request",
    "invalid_idempotency_key", "unknown_procedure", "procedure_not_in_force", "unknown_unit",
    "unit_not_in_force", "unit_cannot_receive", "outside_boundary", "missing_document",
    "daily_sequence_exhausted",
)  # fmt: skip
_RECEPTION_ERRORS = (
    "not_found", "invalid_state", "invalid_request", "procedure_not_in_force",
    "unit_not_in_force", "unit_cannot_receive", "outside_boundary", "missing_document",
)  # fmt: skip
_WITHDRAWAL_ERRORS = ("malformed_json", "not_found", "withdrawal_not_allowed", "invalid_request")


def _example(code: str) -> dict[str, Any]:
    status, field, detail = ERRORS[code]
    body: dict[str, Any] = {
        "type": f"urn:lienthong:problem:{code}",
        "title": code.replace("_", " "),
    }
    body |= {"status": status, "code": code, "detail": detail}
    return body | ({"field": field} if field else {})


def problems(*codes: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the problem+json answers a route may give, one example per code."""
    by_status: dict[int, list[str]] = {}
    for code in codes:
        by_status.setdefault(ERRORS[code][0], []).append(code)
    schema = Problem.model_json_schema()
    return {
        status: {
            "description": _STATUS_TEXT[status] + " Codes: " + ", ".join(found) + ".",
            "content": {
                PROBLEM_JSON: {
                    "schema": schema,
                    "examples": {code: {"value": _example(code)} for code in found},
                }
            },
        }
        for status, found in sorted(by_status.items())
    }


def intake_of(request: Request) -> Intake:
    """The running service's actions context (set by the lifespan)."""
    ctx: Intake = request.app.state.intake
    return ctx


IntakeDep = Annotated[Intake, Depends(intake_of)]
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


def install_refusal_handler(app: FastAPI) -> None:
    """Map intake's domain refusals to problem+json, naming the field."""

    @app.exception_handler(Refusal)
    async def on_refusal(_: Request, exc: Refusal) -> JSONResponse:
        extra = {**exc.extra, **({"field": exc.field} if exc.field else {})}
        return problem(exc.status, exc.code, exc.detail, **extra)


def _receipt(outcome: Outcome, response: Response) -> Receipt:
    if outcome.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return outcome.receipt


# --- catalogue --------------------------------------------------------------------


@router.get(
    "/units",
    tags=["catalogue"],
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
    in_force_on: Annotated[date | None, Query(description="Only units valid that day.")] = None,
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
    summary="One administrative unit",
    description="Retired units stay readable, with `valid_to` and `successor`.",
    response_model=UnitOut,
    responses=problems("not_found", "invalid_request"),
)
async def get_unit(ctx: IntakeDep, code: str) -> UnitOut:
    doc = await ctx.store.get_unit(code)
    if doc is None:
        raise Refusal("not_found", f"no unit {code}", field="code", status=404)
    return UnitOut.model_validate(doc)


@router.get(
    "/procedures",
    tags=["catalogue"],
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
    in_force_on: Annotated[date | None, Query(description="Only those valid that day.")] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> ProcedurePage:
    criteria: dict[str, Any] = {}
    if field is not None:
        criteria["$or"] = [{"field": field}, {"field_en": field}]
    if receivable_at is not None:
        unit = await ctx.store.get_unit(receivable_at)
        if unit is None:
            raise Refusal("unknown_unit", f"no unit {receivable_at}", field="receivable_at")
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
    summary="One procedure",
    description="Required documents, fees, cut-off and the route with working-day budgets.",
    response_model=ProcedureOut,
    responses=problems("not_found", "invalid_request"),
)
async def get_procedure(ctx: IntakeDep, code: str) -> ProcedureOut:
    doc = await ctx.store.get_procedure(code)
    if doc is None:
        raise Refusal("not_found", f"no procedure {code}", field="code", status=404)
    return ProcedureOut.model_validate(doc)


# --- dossiers ---------------------------------------------------------------------


@router.post(
    "/dossiers",
    tags=["dossiers"],
    summary="Submit a dossier",
    description="Checks the dossier against the catalogue, allocates its code, computes the "
    "appointment date (desk, agency) and announces it (dossier.received.v1, or "
    "dossier.submitted.v1 for online submissions). The receipt carries the look-up token, "
    "shown only here. A replay with the same Idempotency-Key and body returns the first "
    "receipt with the header `Idempotent-Replayed: true`.",
    status_code=201,
    response_model=Receipt,
    responses=problems(*_SUBMISSION_ERRORS),
)
async def submit_dossier(
    ctx: IntakeDep,
    response: Response,
    body: Annotated[SubmissionRequest, Body()],
    idempotency_key: IdempotencyKey = None,
) -> Receipt:
    return _receipt(await actions.submit_dossier(ctx, body, idempotency_key), response)


@router.post(
    "/dossiers/denials",
    tags=["dossiers"],
    summary="Record a refusal at intake",
    description="The desk refuses a dossier it was handed (phiếu từ chối, Mẫu 03): the dossier "
    "gets a code, state DENIED with the reason, and dossier.denied.v1 is announced. The "
    "procedure's required documents are not checked: missing ones are a usual reason.",
    status_code=201,
    response_model=Receipt,
    responses=problems(*_SUBMISSION_ERRORS),
)
async def deny_at_desk(
    ctx: IntakeDep,
    response: Response,
    body: Annotated[DeskDenialRequest, Body()],
    idempotency_key: IdempotencyKey = None,
) -> Receipt:
    return _receipt(await actions.deny_at_desk(ctx, body, idempotency_key), response)


@router.post(
    "/dossiers/{code}/reception",
    tags=["desk"],
    summary="Receive an online submission",
    description="The desk accepts a SUBMITTED dossier: checked again against the catalogue, "
    "appointment counted from now, dossier.received.v1 (channel online) announced.",
    response_model=DossierView,
    responses=problems(*_RECEPTION_ERRORS),
)
async def receive_submission(ctx: IntakeDep, code: str) -> DossierView:
    return dossier_view(ctx.catalogue, await actions.receive_submission(ctx, code))


@router.post(
    "/dossiers/{code}/denial",
    tags=["desk"],
    summary="Refuse an online submission",
    description="The desk refuses a SUBMITTED dossier with the reason: DENIED, refusal "
    "notice kept, dossier.denied.v1 announced.",
    response_model=DossierView,
    responses=problems(
        "malformed_json", "not_found", "invalid_state", "invalid_request", "body_too_large"
    ),
)
async def deny_submission(
    ctx: IntakeDep, code: str, body: Annotated[DenialRequest, Body()]
) -> DossierView:
    return dossier_view(ctx.catalogue, await actions.deny_submission(ctx, code, body.reason))


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
    "/dossiers/{code}/withdrawal",
    tags=["applicants"],
    summary="Withdraw a dossier",
    description="Allowed while the dossier is SUBMITTED, RECEIVED, IN_TRANSFER, PROCESSING, "
    "SUPPLEMENT_REQUESTED or AWAITING_PAYMENT; announces dossier.withdrawn.v1. Otherwise 409 "
    "`withdrawal_not_allowed`. Needs the look-up token like the look-up.",
    response_model=DossierView,
    responses=problems(*_WITHDRAWAL_ERRORS),
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
