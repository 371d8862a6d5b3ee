"""Who the acting unit is to the dossier, and the combined state-and-role check."""

from __future__ import annotations

from routing.domain.model import Context, Dossier
from routing.domain.route import acts_for
from routing.domain.state_machine import Action, Role, check_actor, next_state
from shared.events.dossier import DossierState


def fact_base(d: Dossier) -> dict[str, str]:
    """The fields every dossier fact carries: code, and state and holder after the fact."""
    return {"dossier_code": d.code, "state": d.state, "holding_unit": d.holding_unit}


def roles_of(d: Dossier, unit: str, ctx: Context) -> frozenset[Role]:
    """The roles ``unit`` has on the dossier today (a successor acts for a merged unit)."""
    roles: set[Role] = set()
    if acts_for(ctx.catalogue, unit, d.holding_unit, ctx.today):
        roles.add(Role.HOLDING_UNIT)
    if d.transfer is not None and acts_for(ctx.catalogue, unit, d.transfer.to_unit, ctx.today):
        roles.add(Role.TRANSFER_RECEIVER)
    if acts_for(ctx.catalogue, unit, d.receiving_unit, ctx.today):
        roles.add(Role.RECEIVING_DESK)
    responsible = d.transfer.to_unit if d.transfer is not None else d.holding_unit
    if acts_for(ctx.catalogue, unit, responsible, ctx.today):
        roles.add(Role.RESPONSIBLE_UNIT)
    return frozenset(roles)


def allow(d: Dossier, action: Action, unit: str, ctx: Context) -> DossierState:
    """The state after ``action`` by ``unit``, or ``ActionRefused`` (state first, then role)."""
    state = next_state(d.state, action)
    check_actor(action, roles_of(d, unit, ctx), unit)
    return state
