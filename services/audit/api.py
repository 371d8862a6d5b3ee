"""HTTP routes of the audit service: the auditor's read-only API (GET only, by design)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from audit.evidence import Evidence
from audit.handlers import logged_event_types
from shared.auth import Role, allow
from shared.http import MAX_STORE_INT, DomainError, NotFound
from shared.time_bounds import BoundedDatetime

# The whole audit API is read-only and for auditors.
router = APIRouter(prefix="/v1/audit", tags=["audit"], dependencies=[allow(Role.AUDITOR)])
STATUS: dict[str, int] = {  # audit's one table: refusal code -> HTTP status (else 422)
    "dossier_key_unreadable": 503,
    "invalid_tree_size": 422,
    "log_damaged": 409,
    "no_checkpoint": 404,
    "not_found": 404,
    "not_checkpointed_yet": 409,
}
MAX_PAGE = 500


def evidence(request: Request) -> Evidence:
    """The running service's evidence views (set by its lifespan)."""
    found: Evidence = request.app.state.evidence
    return found


Views = Annotated[Evidence, Depends(evidence)]


class InvalidFilter(DomainError):
    """A filter the log cannot apply (unknown type, time without zone, empty range)."""

    status = 422
    code = "invalid_filter"


def refusal_statuses(path: str, method: str) -> set[int]:
    """Beyond the shared answers: what is not there yet (404, e.g. no checkpoint) and a
    damaged log or an entry not checkpointed yet (409). OpenAPI declares them."""
    if path.startswith("/v1/audit/") and not path.endswith(("/keys", "/trust")):
        return {404, 409}
    return set()


@router.get("/entries", summary="Log entries by dossier, event type or log time, paged")
async def list_entries(
    views: Views,
    dossier: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    type: Annotated[str | None, Query(max_length=128, description="Event type.")] = None,
    since: Annotated[
        BoundedDatetime | None, Query(description="Logged at or after (inclusive).")
    ] = None,
    until: Annotated[
        BoundedDatetime | None, Query(description="Logged before (exclusive).")
    ] = None,
    after: Annotated[
        int | None, Query(ge=0, le=MAX_STORE_INT, description="Cursor: entries after this index.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> dict[str, Any]:
    if type is not None and type not in logged_event_types():
        raise InvalidFilter(
            f"{type} is not a logged event type", code="unknown_event_type", field="type"
        )
    for name, moment in (("since", since), ("until", until)):
        if moment is not None and moment.tzinfo is None:
            raise InvalidFilter("give a timezone (e.g. Z)", code="naive_time", field=name)
    if since is not None and until is not None and since >= until:
        raise InvalidFilter(
            "'since' must be before 'until'", code="empty_time_range", field="until"
        )
    docs = await views.store.find_entries(
        subject=dossier, event_type=type, since=since, until=until, after=after, limit=limit + 1
    )
    items = await views.entry_views(docs[:limit])
    more = len(docs) > limit
    return {"items": items, "next_after": items[-1]["index"] if more else None}


@router.get("/entries/{index}", summary="One log entry")
async def get_entry(
    views: Views, index: Annotated[int, Path(ge=0, le=MAX_STORE_INT)]
) -> dict[str, Any]:
    doc = await views.store.entry(index)
    if doc is None:
        raise NotFound(f"entry {index} not found", field="index")
    return (await views.entry_views([doc]))[0]


@router.get("/dossiers/{code}", summary="A dossier's whole history, with hand-over receipts proven")
async def dossier_history(views: Views, code: str) -> dict[str, Any]:
    return await views.dossier_history(code)


@router.get("/dossiers/{code}/bundle", summary="Evidence bundle that verifies offline")
async def dossier_bundle(views: Views, code: str) -> dict[str, Any]:
    return await views.bundle(code)


@router.get("/checkpoints", summary="Signed checkpoints in size order, paged")
async def list_checkpoints(
    views: Views,
    after: Annotated[
        int | None, Query(ge=0, le=MAX_STORE_INT, description="Cursor: sizes above this.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> dict[str, Any]:
    found = await views.store.checkpoints(after=after, limit=limit + 1)
    items = [c.as_json() for c in found[:limit]]
    return {"items": items, "next_after": items[-1]["tree_size"] if len(found) > limit else None}


@router.get("/checkpoints/latest", summary="The latest signed checkpoint")
async def latest_checkpoint(views: Views) -> dict[str, Any]:
    checkpoint = await views.store.latest_checkpoint()
    if checkpoint is None:
        raise NotFound("no checkpoint signed yet", code="no_checkpoint")
    return checkpoint.as_json()


@router.get("/checkpoints/{size}", summary="The checkpoint signed at a tree size")
async def checkpoint_by_size(
    views: Views, size: Annotated[int, Path(ge=1, le=MAX_STORE_INT)]
) -> dict[str, Any]:
    checkpoint = await views.store.checkpoint(size)
    if checkpoint is None:
        raise NotFound(f"no checkpoint at tree size {size}", code="no_checkpoint", field="size")
    return checkpoint.as_json()


@router.get("/proofs/inclusion", summary="Inclusion proof of an entry in a tree size")
async def inclusion_proof(
    views: Views,
    entry: Annotated[int, Query(ge=0, le=MAX_STORE_INT, description="Entry index.")],
    size: Annotated[
        int | None,
        Query(ge=1, le=MAX_STORE_INT, description="Tree size; default latest checkpoint."),
    ] = None,
) -> dict[str, Any]:
    return await views.inclusion(entry, size)


@router.get("/proofs/consistency", summary="Consistency proof between two tree sizes")
async def consistency_proof(
    views: Views,
    from_size: Annotated[int, Query(alias="from", ge=1, le=MAX_STORE_INT)],
    to_size: Annotated[int, Query(alias="to", ge=1, le=MAX_STORE_INT)],
) -> dict[str, Any]:
    return await views.consistency(from_size, to_size)


@router.get("/keys", summary="Keys of the log, current and retired, with validity (informative)")
async def keys(views: Views) -> dict[str, Any]:
    return {"log_id": views.log_id, "keys": await views.keys()}


@router.get(
    "/trust",
    summary="The trust file to pin: the log's root keys, the witnesses and the quorum",
    response_class=Response,
    responses={200: {"content": {"application/json": {}}}},
)
async def trust_file(views: Views) -> Response:
    # Its exact canonical bytes, so `sha256sum` shows the fingerprint published out of band.
    return Response(
        views.trust.file_bytes(),
        media_type="application/json",
        headers={"X-Trust-Fingerprint": views.trust.fingerprint()},
    )
