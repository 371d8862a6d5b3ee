"""HTTP: dossiers a desk hands in (submission, refusal at intake, supplement request
before reception), each answered with a receipt; an ``Idempotency-Key`` makes a retry
return the first receipt."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Header, Response

from intake import new_dossiers
from intake.api import Desk, IntakeDep
from intake.idempotency import Outcome
from intake.problems import SUBMISSION_ERRORS, SUPPLEMENT_REQUEST_ERRORS, problems
from intake.schemas.requests import DeskDenialRequest, DeskSupplementRequest, SubmissionRequest
from intake.schemas.responses import Receipt
from shared.auth import acting_unit

router = APIRouter(prefix="/v1")
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Makes retries safe: same key and body, same receipt; "
        "same key and another body, 409. 8-128 of A-Z a-z 0-9 _ . : -",
    ),
]


def _receipt(outcome: Outcome, response: Response) -> Receipt:
    if outcome.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return outcome.receipt


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
    return _receipt(await new_dossiers.submit_dossier(ctx, body, idempotency_key), response)


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
    return _receipt(await new_dossiers.deny_at_desk(ctx, body, idempotency_key), response)


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
    return _receipt(await new_dossiers.ask_supplement_at_desk(ctx, body, idempotency_key), response)
