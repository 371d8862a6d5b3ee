"""HTTP: a desk's decisions on an online submission sent to it: receive it, refuse it,
or ask to supplement it. Only the desk the dossier was sent to decides."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body

from intake import actions
from intake.actions import Intake
from intake.api import Desk, IntakeDep
from intake.problems import DESK_ACTION_ERRORS, RECEPTION_ERRORS, problems
from intake.schemas.requests import DenialRequest, SupplementRequestIn
from intake.schemas.responses import DossierView
from intake.views import dossier_view
from shared.auth import Principal, acting_unit

router = APIRouter(prefix="/v1")


async def _check_desk(ctx: Intake, caller: Principal, code: str) -> None:
    """Only the desk the dossier was sent to decides on it."""
    dossier = await actions.dossier_for_desk(ctx, code)
    acting_unit(caller, dossier.receiving_unit, field="code")


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
