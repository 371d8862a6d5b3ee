"""HTTP: intake's printable forms: Mẫu 01 (receipt and appointment) and Mẫu 03 (refusal) of
one dossier for its applicant (look-up token), Mẫu 06 (log book) of a desk."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse

from intake import actions
from intake.api import Desk, IntakeDep, LookupTokenHeader, LookupTokenQuery
from intake.forms import FormUnavailable, IntakeForms, day_bounds
from intake.problems import problems
from shared.auth import acting_unit
from shared.catalogue import UNIT_CODE_PATTERN
from shared.forms import load_forms
from shared.refusals import Refused

router = APIRouter(prefix="/v1", tags=["forms"])
MAX_LOG_DAYS = 93
MAX_LOG_ROWS = 2000


def forms_of(request: Request, ctx: IntakeDep) -> IntakeForms:
    """The app's form renderer (built on first use, from the catalogue it serves)."""
    forms: IntakeForms | None = getattr(request.app.state, "intake_forms", None)
    if forms is None:
        forms = IntakeForms(ctx.catalogue, load_forms())
        request.app.state.intake_forms = forms
    return forms


FormsDep = Annotated[IntakeForms, Depends(forms_of)]


def _html(html: str, name: str) -> HTMLResponse:
    return HTMLResponse(html, headers={"Content-Disposition": f'inline; filename="{name}.html"'})


@router.get(
    "/dossiers/{code}/forms/{number}",
    summary="The applicant's form of a dossier (Mẫu 01 or 03)",
    description="01: receipt and appointment of a received dossier; 03: refusal at intake. "
    "HTML in Vietnamese, printable to PDF. Needs the look-up token like the look-up (the same "
    "404 for every miss); 404 `form_unavailable` when the dossier has no such form.",
    response_class=HTMLResponse,
    responses=problems("not_found", "form_unavailable", "invalid_request"),
)
async def get_form(
    ctx: IntakeDep,
    forms: FormsDep,
    code: str,
    number: Annotated[Literal["01", "03"], Path(description="Form number.")],
    x_lookup_token: LookupTokenHeader = None,
    token: LookupTokenQuery = None,
) -> HTMLResponse:
    doc = await actions.dossier_for_applicant(ctx, code, x_lookup_token or token)
    today = ctx.calendar.local_date(ctx.now())
    try:
        html = forms.receipt(doc, today) if number == "01" else forms.refusal(doc, today)
    except FormUnavailable as exc:
        raise Refused("form_unavailable", str(exc), field="number") from exc
    return _html(html, f"mau-{number}-{code}")


@router.get(
    "/units/{unit}/forms/06",
    summary="A desk's log book (Mẫu 06)",
    description=f"The dossiers the desk received from `start` to `end` (local dates, at most "
    f"{MAX_LOG_DAYS} days, {MAX_LOG_ROWS} rows), oldest first. For that desk's staff or "
    "agency system only.",
    response_class=HTMLResponse,
    responses=problems("invalid_period", "invalid_request"),
)
async def get_log_book(
    ctx: IntakeDep,
    forms: FormsDep,
    caller: Desk,
    unit: Annotated[str, Path(pattern=UNIT_CODE_PATTERN)],
    start: Annotated[date, Query(description="First day (yyyy-mm-dd).")],
    end: Annotated[date, Query(description="Last day (yyyy-mm-dd).")],
) -> HTMLResponse:
    acting_unit(caller, unit)
    if end < start or (end - start).days >= MAX_LOG_DAYS:
        raise Refused(
            "invalid_period", f"end must be on or after start, within {MAX_LOG_DAYS} days",
            field="end",
        )  # fmt: skip
    low, high = day_bounds(start, end, ctx.calendar.tz)
    docs = await ctx.store.received_by(unit, low, high, MAX_LOG_ROWS)
    today = ctx.calendar.local_date(ctx.now())
    return _html(forms.log_book(unit, docs, start, end, today), f"mau-06-{unit}")
