"""HTTP: intake's printable forms: Mẫu 01 (receipt and appointment), Mẫu 02 (supplement
request before reception) and Mẫu 03 (refusal) of
one dossier for its applicant (look-up token), Mẫu 06 (log book) of a desk; and the
applicant's name for the forms routing prints (Mẫu 02, 04, 05), to routing alone."""

from __future__ import annotations

import logging
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from intake import actions
from intake.api import Desk, IntakeDep, LookupTokenHeader, LookupTokenQuery
from intake.domain.retention import check_personal_data_kept
from intake.forms import FormUnavailable, IntakeForms, day_bounds
from intake.problems import problems
from shared.auth import Forbidden, Principal, Role, acting_unit, allow
from shared.catalogue.model import UNIT_CODE_PATTERN
from shared.forms import load_forms
from shared.refusals import Refused
from shared.time_bounds import BoundedDate

router = APIRouter(prefix="/v1", tags=["forms"])
log = logging.getLogger(__name__)
MAX_LOG_DAYS = 93
MAX_LOG_ROWS = 2000


async def forms_of(request: Request, ctx: IntakeDep) -> IntakeForms:
    """The app's form renderer (built on first use, from the catalogue it serves)."""
    forms: IntakeForms | None = getattr(request.app.state, "intake_forms", None)
    if forms is None:
        forms = IntakeForms(ctx.catalogue, load_forms())
        request.app.state.intake_forms = forms
    return forms


FormsDep = Annotated[IntakeForms, Depends(forms_of)]
ServiceCaller = Annotated[Principal, allow(Role.SERVICE)]
# The clients that print other forms of a dossier: they check their own caller first.
FORM_PRINTERS = frozenset({"routing"})


class ApplicantName(BaseModel):
    """The applicant's name as it goes on a printed form: no contact, no identity number."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"code": "001.21.31.H59-260302-0001", "name": "Nguyễn Văn An"}]
        }
    )

    code: str = Field(description="Dossier code.")
    name: str = Field(description="The applicant's name as submitted.")


def _html(html: str, name: str) -> HTMLResponse:
    """A form: inline, and never kept by a cache (it names applicants, their phone and
    address; a shared desk computer's browser cache would keep them past retention)."""
    headers = {
        "Content-Disposition": f'inline; filename="{name}.html"',
        "Cache-Control": "no-store",
    }
    return HTMLResponse(html, headers=headers)


@router.get(
    "/dossiers/{code}/forms/{number}",
    summary="The applicant's form of a dossier (Mẫu 01, 02 or 03)",
    description="01: receipt and appointment of a received dossier; 02: the desk's latest "
    "request to supplement the dossier before receiving it; 03: refusal at intake. "
    "HTML in Vietnamese, printable to PDF. Needs the look-up token like the look-up (the same "
    "404 for every miss); 404 `form_unavailable` when the dossier has no such form; 410 "
    "`personal_data_erased` once the retention period erased the applicant's data the "
    "forms print.",
    response_class=HTMLResponse,
    responses=problems("not_found", "form_unavailable", "personal_data_erased", "invalid_request"),
)
async def get_form(
    ctx: IntakeDep,
    forms: FormsDep,
    code: str,
    number: Annotated[Literal["01", "02", "03"], Path(description="Form number.")],
    x_lookup_token: LookupTokenHeader = None,
    token: LookupTokenQuery = None,
) -> HTMLResponse:
    doc = await actions.dossier_for_applicant(ctx, code, x_lookup_token or token)
    check_personal_data_kept(doc)
    try:
        render = {"01": forms.receipt, "02": forms.supplement, "03": forms.refusal}[number]
        html = render(doc)
    except FormUnavailable as exc:
        raise Refused("form_unavailable", str(exc), field="number") from exc
    return _html(html, f"mau-{number}-{code}")


@router.get(
    "/units/{unit}/forms/06",
    summary="A desk's log book (Mẫu 06)",
    description=f"The dossiers the desk received from `start` to `end` (local dates, at most "
    f"{MAX_LOG_DAYS} days), oldest first; a period in which the desk received more than "
    f"{MAX_LOG_ROWS} dossiers is refused (422 `invalid_period`: print shorter periods), never "
    "printed without some. For that desk's staff or agency system only.",
    response_class=HTMLResponse,
    responses=problems("invalid_period", "invalid_request"),
)
async def get_log_book(
    ctx: IntakeDep,
    forms: FormsDep,
    caller: Desk,
    unit: Annotated[str, Path(pattern=UNIT_CODE_PATTERN)],
    start: Annotated[BoundedDate, Query(description="First day (yyyy-mm-dd).")],
    end: Annotated[BoundedDate, Query(description="Last day (yyyy-mm-dd).")],
) -> HTMLResponse:
    acting_unit(caller, unit)
    if end < start or (end - start).days >= MAX_LOG_DAYS:
        raise Refused(
            "invalid_period", f"end must be on or after start, within {MAX_LOG_DAYS} days",
            field="end",
        )  # fmt: skip
    low, high = day_bounds(start, end, ctx.calendar.tz)
    docs = await ctx.store.received_by(unit, low, high, MAX_LOG_ROWS + 1)
    if len(docs) > MAX_LOG_ROWS:  # a register printed without some of its rows misleads
        raise Refused(
            "invalid_period",
            f"the desk received more than {MAX_LOG_ROWS} dossiers from {start.isoformat()} to "
            f"{end.isoformat()}: print the log book for shorter periods",
            field="end",
        )
    today = ctx.calendar.local_date(ctx.now())
    return _html(forms.log_book(unit, docs, start, end, today), f"mau-06-{unit}")


@router.get(
    "/dossiers/{code}/applicant-name",
    summary="The applicant's name, for a form another service prints",
    description="Routing prints Mẫu 02 (supplement request), 04 (apology) and 05 (tracking "
    "slip) addressed to the applicant, whose name only intake keeps (dossier events carry "
    "no personal data). Routing asks here with its own client's token, after checking that "
    "its caller may read the dossier, and puts the name on the page it serves; it stores "
    "nothing. Only the `routing` client (role service) is admitted; the answer is the name "
    "alone, never a contact or an identity number; each read is logged (code and client). "
    "410 `personal_data_erased` once the retention period erased it.",
    response_model=ApplicantName,
    responses=problems("not_found", "personal_data_erased", "invalid_request"),
)
async def applicant_name(ctx: IntakeDep, caller: ServiceCaller, code: str) -> ApplicantName:
    if caller.client_id not in FORM_PRINTERS:
        raise Forbidden(f"only {', '.join(sorted(FORM_PRINTERS))} prints these forms")
    doc = await actions.dossier_for_desk(ctx, code)
    check_personal_data_kept(doc)
    log.info("applicant name read for a form", extra={"dossier": code, "client": caller.name})
    return ApplicantName(code=code, name=doc.applicant.name)
