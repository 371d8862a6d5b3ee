"""HTTP: what an applicant does with the receipt's look-up token: look the dossier up,
supplement it when the desk asked to, withdraw it (or ask to)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body

from intake import actions
from intake.api import IntakeDep, LookupTokenHeader, LookupTokenQuery
from intake.problems import SUPPLEMENT_ERRORS, WITHDRAWAL_ERRORS, problems
from intake.schemas.requests import SupplementIn, WithdrawalRequest
from intake.schemas.responses import DossierView
from intake.views import dossier_view

router = APIRouter(prefix="/v1")


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
