"""HTTP read views: one dossier, its trail, a unit's inbox, flows and overdue.

Operations, auditors and administrators read every dossier; a desk, an officer or an
agency system reads the dossiers its unit is (or was) part of and its own inbox.
Flows and overdue are operations views.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request

from routing import ontime, views
from routing.api_access import SEES_ALL, DossierCode, readable_dossier, routing_of, successor_rule
from routing.domain.trail import Trail, build_trail
from shared.auth import Principal, Role, acting_unit, allow
from shared.catalogue.model import UNIT_CODE_PATTERN
from shared.events.dossier import DossierState
from shared.http import MAX_STORE_INT, DomainError
from shared.time_bounds import BoundedDatetime

router = APIRouter(prefix="/v1", tags=["views"])
UnitCode = Annotated[str, Path(pattern=UNIT_CODE_PATTERN, description="Unit (agency) code.")]


UNIT_BOUND = (Role.DESK, Role.OFFICER, Role.AGENCY)
Reader = Annotated[Principal, allow(*UNIT_BOUND, *SEES_ALL)]
InboxReader = Annotated[Principal, allow(*UNIT_BOUND, Role.OPERATIONS)]
Operations = Annotated[Principal, allow(Role.OPERATIONS)]


@router.get("/dossiers/{code}", summary="Where a dossier is and what is next")
async def get_dossier(request: Request, caller: Reader, code: DossierCode) -> views.DossierView:
    return views.dossier_view(await readable_dossier(routing_of(request), code, caller))


@router.get("/dossiers/{code}/trail", summary="Every step, holder and hand-over, with durations")
async def get_trail(request: Request, caller: Reader, code: DossierCode) -> Trail:
    routing = routing_of(request)
    dossier = await readable_dossier(routing, code, caller)
    return build_trail(dossier, routing.calendar, routing.clock.now())


@router.get("/units/{unit}/inbox", summary="What a unit must act on")
async def get_inbox(
    request: Request,
    caller: InboxReader,
    unit: UnitCode,
    state: Annotated[list[DossierState] | None, Query(description="Only these states.")] = None,
    procedure: Annotated[str | None, Query(description="Only this procedure code.")] = None,
    late: Annotated[bool, Query(description="Only late dossiers.")] = False,
    limit: Annotated[int, Query(ge=1, description="Page size.")] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_STORE_INT, description="Items to skip.")] = 0,
) -> views.InboxPage:
    routing = routing_of(request)
    today = routing.calendar.local_date(routing.clock.now())
    if Role.OPERATIONS not in caller.roles:
        acting_unit(caller, unit, successor_rule(routing))
    return await views.inbox(
        routing.store,
        unit,
        states=state or [],
        procedure=procedure,
        late_only=late,
        today=today,
        horizon=routing.calendar.add_working_days(today, routing.options.nearly_late_days),
        limit=min(limit, routing.options.max_page_size),
        offset=offset,
    )


@router.get("/flows", summary="Dossiers by state and unit; hand-overs between levels")
async def get_flows(
    request: Request,
    caller: Operations,
    since: Annotated[
        BoundedDatetime | None, Query(description="Window start (default: 7 days ago).")
    ] = None,
    until: Annotated[
        BoundedDatetime | None, Query(description="Window end (default: now).")
    ] = None,
) -> dict[str, Any]:
    routing = routing_of(request)
    until = until or routing.clock.now()
    since = since or until - timedelta(days=7)
    if since.tzinfo is None or until.tzinfo is None or since >= until:
        raise DomainError(
            "since and until must carry a timezone, since < until",
            code="bad_window",
            field="since",
            status=422,
        )
    return await views.flows(routing.store, since, until, routing.level_of)


@router.get("/overdue", summary="Late and nearly late dossiers by unit")
async def get_overdue(
    request: Request,
    caller: Operations,
    unit: Annotated[str | None, Query(description="Only this unit.")] = None,
    within_days: Annotated[
        int | None, Query(ge=0, le=60, description="Nearly late: due within N working days.")
    ] = None,
) -> dict[str, Any]:
    routing = routing_of(request)
    today = routing.calendar.local_date(routing.clock.now())
    days = routing.options.nearly_late_days if within_days is None else within_days
    horizon = routing.calendar.add_working_days(today, days)
    return await views.overdue(routing.store, today=today, horizon=horizon, unit=unit)


@router.get("/ontime", summary="On-time rate per unit and procedure per month; apologies")
async def get_on_time(
    request: Request,
    caller: Operations,
    months: Annotated[int, Query(ge=1, le=24, description="Months back from now.")] = 6,
) -> ontime.OnTime:
    routing = routing_of(request)
    since = routing.clock.now() - timedelta(days=31 * months)
    return await ontime.on_time(routing.store, since, routing.calendar.local_date)
