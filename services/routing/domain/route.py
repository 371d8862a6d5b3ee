"""Route resolution: a procedure's relative selectors to concrete units, on a date.

Works for any number of levels (see ``shared/catalogue/__init__.py`` for the selector
vocabulary). Unit validity is honoured: a unit that no longer exists on the date is
replaced by its successor (``unit_in_force``) and the step records
``redirected_from``, both when the route is planned and again at each hand-over,
so dossiers in flight across a restructuring go to the unit that took over.

Boundary-free intake (phi địa giới, Decree 118/2025/NĐ-CP): for a procedure that any
desk may receive, the deciding units ("ancestor" selectors) are resolved from the
applicant's area when the dossier names one, not from the receiving desk; the desk
still checks the dossier (first step) and returns the result (last step).
"""

from __future__ import annotations

from datetime import date
from typing import ClassVar, NamedTuple

from shared.catalogue.configuration import Catalogue
from shared.catalogue.model import CatalogueLookupError, Selector, Unit
from shared.events.handover import RouteStep


class RouteError(Exception):
    """The route cannot be resolved to exactly one unit per step."""

    # Its messages name unit and procedure codes, levels, tags and dates: a dead letter
    # keeps them whole (shared/error_text.py).
    message_in_clear: ClassVar[bool] = True


class ResolvedRoute(NamedTuple):
    """Where the dossier starts and every step's unit."""

    receiving_unit: str
    redirected_from: str | None
    steps: list[RouteStep]
    names_en: list[str]
    area_unit: str | None = None


def in_force(catalogue: Catalogue, code: str, on: date) -> tuple[str, str | None]:
    """The unit in force for ``code`` on ``on`` and, if it differs, the code asked for."""
    try:
        found = catalogue.unit_in_force(code, on)
    except CatalogueLookupError as exc:
        raise RouteError(str(exc)) from exc
    return found.unit.code, (code if found.unit.code != code else None)


def acts_for(catalogue: Catalogue, acting: str, expected: str, on: date) -> bool:
    """Whether ``acting`` is ``expected`` or the unit that took it over by ``on``."""
    if acting == expected:
        return True
    try:
        return catalogue.unit_in_force(expected, on).unit.code == acting
    except CatalogueLookupError:
        return False


def resolve_performer(
    catalogue: Catalogue, selector: Selector, receiving: Unit, on: date
) -> tuple[str, str | None]:
    """The unit performing a step for a dossier received at ``receiving``, on ``on``."""
    if selector.relative != "ancestor":
        return receiving.code, None
    assert selector.level is not None and selector.kind is not None  # checked on load
    level = selector.level if selector.level in catalogue.levels else selector.fallback_level
    if level is None:
        raise RouteError(f"level {selector.level!r} is retired and the selector has no fallback")
    anchor = catalogue.jurisdiction(receiving.code, level)
    if anchor is None:
        raise RouteError(f"{receiving.code} has no {level}-level jurisdiction")
    kind, tags = selector.kind, selector.tags
    found = catalogue.find_in_subtree(anchor.code, kind, tags, on, level=level)
    if len(found) == 1:
        return found[0].code, None
    if not found:
        # The unit the route names may have been merged away: follow it to its successor.
        named = catalogue.find_in_subtree(anchor.code, kind, tags, None, level=level)
        successors = {in_force(catalogue, unit.code, on) for unit in named}
        if len({code for code, _ in successors}) == 1:
            code, redirected = min(successors, key=lambda pair: (pair[1] is None, pair[1] or ""))
            return code, redirected
    codes = [unit.code for unit in found] or ["none"]
    raise RouteError(
        f"{kind} {list(tags)} at level {level} under {anchor.code} on {on}: "
        f"expected one unit, found {', '.join(codes)}"
    )


def resolve_route(
    catalogue: Catalogue,
    procedure_code: str,
    receiving_code: str,
    on: date,
    area_code: str | None = None,
) -> ResolvedRoute:
    """Every step of the procedure's route resolved for a dossier received on ``on``.

    ``area_code``: the applicant's area; deciding units come from it when the procedure
    is received regardless of boundary.
    """
    try:
        procedure = catalogue.procedure(procedure_code)
    except CatalogueLookupError as exc:
        raise RouteError(str(exc)) from exc
    receiving_now, receiving_redirected = in_force(catalogue, receiving_code, on)
    receiving = catalogue.unit(receiving_now)
    deciding_anchor, area_unit = receiving, None
    if procedure.allow_any_receiving_unit and area_code is not None:
        area_unit, _ = in_force(catalogue, area_code, on)
        deciding_anchor = catalogue.unit(area_unit)
    steps: list[RouteStep] = []
    for index, spec in enumerate(procedure.route):
        deciding = spec.performer.relative == "ancestor"
        anchor = deciding_anchor if deciding else receiving
        unit, redirected = resolve_performer(catalogue, spec.performer, anchor, on)
        if spec.performer.relative != "ancestor":
            redirected = receiving_redirected
        steps.append(
            RouteStep(
                index=index,
                name=spec.name,
                unit=unit,
                budget_days=spec.budget_days,
                redirected_from=redirected,
            )
        )
    if steps[0].unit != receiving_now:
        raise RouteError(
            f"procedure {procedure_code}: the first step must be at the receiving unit"
        )
    names_en = [spec.name_en for spec in procedure.route]
    return ResolvedRoute(receiving_now, receiving_redirected, steps, names_en, area_unit)
