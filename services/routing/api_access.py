"""What routing's HTTP routes share: the routing context, the path and header
parameters, who may act for a unit, and which dossiers a caller may read (the others
are answered as unknown).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Header, Path, Request

from routing.dependencies import Routing
from routing.domain.model import Dossier
from routing.handlers import successor_rule as successor_rule  # shared with the topic's
from routing.handlers import units_of as units_of
from shared.auth import Principal, Role, allow
from shared.http import NotFound
from shared.idempotency import KEY_FORMAT

DossierCode = Annotated[str, Path(min_length=1, max_length=64, description="Dossier code.")]
IdempotencyKey = Annotated[
    str | None,
    Header(
        description=f"{KEY_FORMAT}. Repeat a request with the same key and body: it acts "
        "once; the same key with another request is refused (409)."
    ),
]


# Who may act for a unit: its desk, its officers and its agency system (unit from the token).
Caller = Annotated[Principal, allow(Role.DESK, Role.OFFICER, Role.AGENCY)]
SEES_ALL = frozenset({Role.OPERATIONS, Role.AUDITOR, Role.ADMIN})  # read every dossier


def routing_of(request: Request) -> Routing:
    routing: Routing = request.app.state.routing
    return routing


async def readable_dossier(routing: Routing, code: str, caller: Principal) -> Dossier:
    """The dossier, when the caller may read it (else 404, as if unknown)."""
    d = await routing.store.get(code)
    if d is None:
        raise NotFound(f"routing knows no dossier {code}", code="unknown_dossier")
    if not caller.has_any(SEES_ALL):
        mine, rule = caller.unit or "", successor_rule(routing)
        if not any(rule(mine, unit) for unit in units_of(d)):
            # The same answer as an unknown dossier: codes of other units' dossiers stay private.
            raise NotFound(f"routing knows no dossier {code}", code="unknown_dossier")
    return d
