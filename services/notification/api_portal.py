"""HTTP: what the national portal connector sent, holds and gave up on; a dead one
replayed, or skipped so that its dossier's later messages go on without it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from notification.portal_sync import PortalSyncStore
from shared.auth import Role, allow
from shared.http import NotFound

# The portal connector's records and replays: operations (and administrators).
router = APIRouter(
    prefix="/v1/portal", tags=["portal"], dependencies=[allow(Role.OPERATIONS, Role.ADMIN)]
)


class PortalMessageView(BaseModel):
    """One message for the portal and where its delivery stands."""

    id: str
    dossier_code: str
    kind: str
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    body: dict[str, Any]


# Beyond it a skip means nothing here (the store's integers end at 2**63 - 1).
MAX_OFFSET = 1_000_000_000


def _store(request: Request) -> PortalSyncStore:
    store: PortalSyncStore = request.app.state.portal
    return store


@router.get(
    "/messages",
    summary="Messages for the national portal, oldest first (a dossier's: in order)",
    description="A page of at most `limit` messages, after skipping `offset` of them: the "
    "next page starts at `offset` + `limit`, and a page shorter than `limit` is the last.",
)
async def list_messages(
    request: Request,
    status: Annotated[Literal["pending", "sent", "dead", "skipped"] | None, Query()] = None,
    dossier: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> list[PortalMessageView]:
    docs = await _store(request).list(status, dossier, limit, offset)
    return [
        PortalMessageView(
            id=d["_id"], dossier_code=d["dossier_code"], kind=d["kind"], status=d["status"],
            attempts=d["attempts"], last_error=d["last_error"], created_at=d["created_at"],
            body=d["body"],
        )
        for d in docs
    ]  # fmt: skip


@router.post("/messages/{message_id}/replay", summary="Send a dead message again")
async def replay(request: Request, message_id: str) -> dict[str, str]:
    now = request.app.state.runtime.clock.now()
    if not await _store(request).replay(message_id, now):
        raise NotFound(f"no dead portal message {message_id}", code="not_found")
    return {"id": message_id, "status": "pending"}


@router.post("/messages/{message_id}/skip", summary="Give up a dead message: its dossier goes on")
async def skip(request: Request, message_id: str) -> dict[str, str]:
    """A dead message holds back its dossier's later messages; skipped, they are sent
    without it (the portal never gets it: a decision for operations)."""
    now = request.app.state.runtime.clock.now()
    if not await _store(request).skip(message_id, now):
        raise NotFound(f"no dead portal message {message_id}", code="not_found")
    return {"id": message_id, "status": "skipped"}
