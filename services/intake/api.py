"""HTTP routes of the intake service (thin: validate, call an action, map errors): what
every route shares (the actions context, the callers, the look-up token) and the
catalogue. The other routes, by audience: ``api_submissions`` (a desk hands in a
dossier), ``api_desk`` (a desk decides on an online submission), ``api_applicants``
(look-up, supplement, withdrawal with the token), ``api_forms`` (printable forms)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request

from intake.actions import Intake
from intake.problems import problems
from intake.schemas.catalogue import CatalogueInfo, ProcedureOut, ProcedurePage, UnitOut, UnitPage
from shared.auth import EVERYONE, Principal, Role, allow
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
    {
        "name": "privacy",
        "description": "Data subject requests, for the data protection officer.",
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
LookupTokenHeader = Annotated[
    str | None, Header(alias="X-Lookup-Token", description="The receipt's look-up token.")
]
LookupTokenQuery = Annotated[
    str | None, Query(description="The look-up token, if a header cannot be set.")
]
Limit = Annotated[int, Query(ge=1, le=200, description="Page size.")]
Offset = Annotated[int, Query(ge=0, le=100_000, description="Items to skip.")]


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
