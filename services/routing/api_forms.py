"""HTTP: routing's printable forms of one dossier (Mẫu 02, 04, 05) as HTML pages."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse

from routing.api_access import DossierCode, readable_dossier, routing_of
from routing.api_views import Reader
from routing.applicants import ERASED, ApplicantNames, NoApplicantNames
from routing.forms import FormUnavailable, RoutingForms
from shared.forms import load_forms
from shared.http import NotFound

router = APIRouter(prefix="/v1", tags=["forms"])


def forms_of(request: Request) -> RoutingForms:
    """The form renderer, built once per app from routing's catalogue and calendar."""
    forms: RoutingForms | None = getattr(request.app.state, "forms", None)
    if forms is None:
        routing = routing_of(request)
        forms = RoutingForms(routing.catalogue, routing.calendar, load_forms())
        request.app.state.forms = forms
    return forms


def applicant_names_of(request: Request) -> ApplicantNames:
    """Where the applicant's name comes from (intake, or nowhere when not configured)."""
    names: ApplicantNames = getattr(request.app.state, "applicant_names", NoApplicantNames())
    return names


@router.get(
    "/dossiers/{code}/forms/{number}",
    summary="A printable form of the dossier (Mẫu 02, 04 or 05)",
    description="02: supplement request (`nth` request, default the latest); 04: apology "
    "and new appointment (`nth` apology, default the latest); 05: tracking slip with every "
    "hand-over, its receipt and each unit's result against its due date, a last row for "
    "the result returned to the applicant (its time once it happened, the result judged "
    "when it was ready) and columns for the signatures of the persons handing over and "
    "receiving. 02 and 04 are numbered and dated on the day of their act (the request, the "
    "apology), as a reprint is the same paper; 05 is numbered on the reception day and dated "
    "on the print day while the dossier is open, on its closing day once closed. HTML in "
    "Vietnamese, printable to PDF. The applicant's name is asked of intake as the form is "
    "rendered (never stored here); if intake cannot answer, the line is left to fill in by "
    "hand. 404 `form_unavailable` when the dossier has no such data. "
    "Read like the dossier view: its units, operations, auditors, administrators.",
    response_class=HTMLResponse,
)
async def get_form(
    request: Request,
    caller: Reader,
    code: DossierCode,
    number: Annotated[Literal["02", "04", "05"], Path(description="Form number.")],
    nth: Annotated[int | None, Query(ge=1, le=100, description="Which one (1 = first).")] = None,
) -> HTMLResponse:
    routing = routing_of(request)
    dossier = await readable_dossier(routing, code, caller)
    today = routing.calendar.local_date(routing.clock.now())
    renderer = forms_of(request)
    try:
        renderer.check(number, dossier, nth)  # before asking intake for anything
    except FormUnavailable as exc:
        raise NotFound(str(exc), code="form_unavailable") from exc
    answer = await applicant_names_of(request).name_of(code)
    name = answer if isinstance(answer, str) else None
    erased = answer is ERASED
    html = renderer.render(number, dossier, today, nth, applicant_name=name, erased=erased)
    filename = f"mau-{number}-{code}.html"
    headers = {"Content-Disposition": f'inline; filename="{filename}"'}
    if name is not None:  # a page naming the applicant is not kept by caches
        headers["Cache-Control"] = "no-store"
    return HTMLResponse(html, headers=headers)
