"""One configuration's catalogue: its units and procedures, checked for consistency on
creation, and the pure look-ups routing and intake build on."""

from __future__ import annotations

from collections import Counter, deque
from datetime import date
from typing import Any

from pydantic import Field, PrivateAttr

from shared.catalogue.model import (
    CatalogueError,
    CatalogueLookupError,
    FrozenModel,
    Procedure,
    Selector,
    Unit,
    UnitInForce,
)


class Catalogue(FrozenModel):
    """One configuration's units and procedures, checked for consistency on creation."""

    configuration: str
    version: str
    levels: tuple[str, ...] = Field(min_length=1)
    retired_levels: tuple[str, ...] = ()
    kinds: tuple[str, ...] = Field(min_length=1)
    units: tuple[Unit, ...]
    procedures: tuple[Procedure, ...]
    _units: dict[str, Unit] = PrivateAttr(default_factory=dict)
    _children: dict[str, list[Unit]] = PrivateAttr(default_factory=dict)
    _procedures: dict[str, Procedure] = PrivateAttr(default_factory=dict)

    def model_post_init(self, context: Any, /) -> None:
        problems = _unit_problems(self) + _procedure_problems(self)
        if problems:
            shown = "\n  - ".join(problems[:20])
            more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
            raise CatalogueError(
                f"catalogue {self.configuration!r} {self.version}: {len(problems)} problem(s):"
                f"\n  - {shown}{more}"
            )
        self._units = {u.code: u for u in self.units}
        self._procedures = {p.code: p for p in self.procedures}
        for unit in self.units:
            if unit.parent is not None:
                self._children.setdefault(unit.parent, []).append(unit)

    def unit(self, code: str) -> Unit:
        """The unit with this code, in force or not."""
        try:
            return self._units[code]
        except KeyError:
            raise CatalogueLookupError(f"unknown unit code {code!r}") from None

    def procedure(self, code: str) -> Procedure:
        """The procedure with this code in this configuration."""
        try:
            return self._procedures[code]
        except KeyError:
            msg = f"unknown procedure {code!r} in configuration {self.configuration!r}"
            raise CatalogueLookupError(msg) from None

    def unit_in_force(self, code: str, on: date) -> UnitInForce:
        """Follow successors from ``code`` to the unit in force on ``on``."""
        unit, chain = self.unit(code), [code]
        while not unit.in_force(on):
            ended = unit.valid_to is not None and unit.valid_to < on
            if not ended or unit.successor is None:
                raise CatalogueLookupError(f"no unit in force on {on} for {' -> '.join(chain)}")
            unit = self.unit(unit.successor)
            chain.append(unit.code)
        return UnitInForce(unit, tuple(chain))

    def children(self, code: str, on: date | None = None) -> tuple[Unit, ...]:
        """Direct children of a unit (only those in force on ``on`` when given)."""
        self.unit(code)
        kids = self._children.get(code, [])
        return tuple(k for k in kids if on is None or k.in_force(on))

    def ancestors(self, code: str) -> tuple[Unit, ...]:
        """Parent, grandparent, ... up to the root (the unit itself excluded)."""
        found: list[Unit] = []
        parent = self.unit(code).parent
        while parent is not None:
            found.append(self._units[parent])
            parent = found[-1].parent
        return tuple(found)

    def jurisdiction(self, code: str, level: str) -> Unit | None:
        """The outermost unit at ``level`` among ``code`` and its ancestors, if any."""
        chain = (self.unit(code), *self.ancestors(code))
        at_level = [u for u in chain if u.level == level]
        return at_level[-1] if at_level else None

    def find_in_subtree(
        self,
        root_code: str,
        kind: str,
        tags: tuple[str, ...] = (),
        on: date | None = None,
        level: str | None = None,
    ) -> tuple[Unit, ...]:
        """Units of ``kind`` with all ``tags`` (at ``level``) under ``root_code``, nearest first."""
        found: list[Unit] = []
        queue = deque([self.unit(root_code)])
        while queue:
            unit = queue.popleft()
            wanted = unit.kind == kind and set(tags) <= set(unit.tags)
            placed = (on is None or unit.in_force(on)) and (level is None or unit.level == level)
            if wanted and placed:
                found.append(unit)
            queue.extend(self._children.get(unit.code, []))
        return tuple(found)

    def receiving_units(self, on: date) -> tuple[Unit, ...]:
        """Units in force on ``on`` that may receive dossiers."""
        return tuple(u for u in self.units if u.receives_dossiers and u.in_force(on))


def _duplicates(codes: list[str]) -> list[str]:
    return sorted(code for code, n in Counter(codes).items() if n > 1)


def _first_cycle(start: str, links: dict[str, str | None]) -> list[str] | None:
    """The cycle reached by following ``links`` from ``start``, if any."""
    path: list[str] = []
    node: str | None = start
    while node is not None and node in links:
        if node in path:
            return [*path[path.index(node) :], node]
        path.append(node)
        node = links[node]
    return None


def _unit_problems(cat: Catalogue) -> list[str]:
    known = {*cat.levels, *cat.retired_levels}
    by_code = {u.code: u for u in cat.units}
    rank = {level: i for i, level in enumerate(cat.levels)}
    problems = [f"duplicate unit code {c}" for c in _duplicates([u.code for u in cat.units])]
    problems += [
        f"level {lv} listed twice" for lv in _duplicates([*cat.levels, *cat.retired_levels])
    ]
    for u in cat.units:
        parent = by_code.get(u.parent or "")
        inverted = u.valid_from is not None and u.valid_to is not None and u.valid_to < u.valid_from
        # Ranks compare only active levels: retired ones have no place in the order.
        below = parent is not None and rank.get(parent.level, -1) > rank.get(u.level, len(rank))
        checks = [
            (u.level not in known, f"unknown level {u.level!r} (known: {sorted(known)})"),
            (u.kind not in cat.kinds, f"unknown kind {u.kind!r}"),
            (u.parent is not None and parent is None, f"parent {u.parent} does not exist"),
            (
                u.successor is not None and u.successor not in by_code,
                f"successor {u.successor} does not exist",
            ),
            (u.successor is not None and u.valid_to is None, "has a successor but no valid_to"),
            (inverted, "valid_to is before valid_from"),
            (u.level in cat.retired_levels and u.valid_to is None, "retired level but no valid_to"),
            (below, f"parent {u.parent} is at a lower level than the unit"),
        ]
        problems += [f"unit {u.code}: {message}" for bad, message in checks if bad]
    for name in ("parent", "successor"):
        links = {u.code: getattr(u, name) for u in cat.units}
        cycles = {frozenset(c): c for u in cat.units if (c := _first_cycle(u.code, links))}
        problems += [f"{name} cycle: {' -> '.join(c)}" for c in cycles.values()]
    return problems


def _selector_problems(cat: Catalogue, sel: Selector) -> list[str]:
    if sel.relative != "ancestor":
        return []
    checks = [
        (
            sel.level not in {*cat.levels, *cat.retired_levels},
            f"unknown level {sel.level!r} (levels: {list(cat.levels)})",
        ),
        (
            sel.level in cat.retired_levels and sel.fallback_level is None,
            f"level {sel.level!r} is retired here and has no fallback_level",
        ),
        (
            sel.fallback_level not in (None, *cat.levels),
            f"fallback_level {sel.fallback_level!r} is not an active level",
        ),
        (sel.kind not in cat.kinds, f"unknown kind {sel.kind!r}"),
    ]
    return [message for bad, message in checks if bad]


def _procedure_problems(cat: Catalogue) -> list[str]:
    codes = [p.code for p in cat.procedures]
    problems = [f"duplicate procedure code {c}" for c in _duplicates(codes)]
    for p in cat.procedures:
        bad_kinds = sorted(set(p.receiving_kinds) - set(cat.kinds))
        bad_levels = sorted(set(p.receiving_levels) - {*cat.levels, *cat.retired_levels})
        if bad_kinds or bad_levels:
            problems.append(
                f"procedure {p.code}: unknown receiving kinds/levels {bad_kinds + bad_levels}"
            )
        for i, step in enumerate(p.route):
            where = f"procedure {p.code} step {i} ({step.name_en})"
            problems += [f"{where}: {m}" for m in _selector_problems(cat, step.performer)]
    return problems
