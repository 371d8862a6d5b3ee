"""Catalogue data contract: administrative units and procedures, loaded from versioned JSON.

Intake and routing each load the same files (``data/catalogue``, see its README) into
their own store. A *configuration* names one hierarchy file, ``units-<name>.json``
("three-level": province → district → commune; "two-level": province → commune since
2025-07-01); ``procedures.json`` is shared and each procedure lists the configurations
it ``applies_to``. Services choose the configuration from ``LT_CATALOGUE_CONFIGURATION``.

Levels and unit kinds are data: nothing here knows how many levels there are. Route
*resolution* belongs to routing; this module offers only pure look-ups it can build on
(``jurisdiction``, ``find_in_subtree``, ``unit_in_force``). Selector vocabulary:

* ``{"relative": "receiving_unit"}``: the unit that received the dossier;
* ``{"relative": "returning_desk"}``: the desk that hands the result back (the receiving one);
* ``{"relative": "ancestor", "level": L, "kind": K, "tags": [...],
  "fallback_level": F}``: take the receiving unit's jurisdiction at level L (the
  outermost unit at level L among the unit and its ancestors, e.g. the district
  people's committee), then the unit at level L, of kind K, carrying all the tags, in
  its subtree (the jurisdiction itself included): ``find_in_subtree(jurisdiction.code,
  K, tags, on, level=L)``. When the configuration has no level L (it is retired, as
  "district" in two-level), F replaces L throughout; F is then mandatory.
"""

from __future__ import annotations

import json
from collections import Counter, deque
from datetime import date, time
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, NamedTuple

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    WithJsonSchema,
    model_validator,
)

CONFIGURATION_ENV_VAR = "LT_CATALOGUE_CONFIGURATION"
DEFAULT_CONFIGURATION = "three-level"
DEFAULT_DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "catalogue"
PROCEDURES_FILE = "procedures.json"
SUPPORTED_SCHEMA = 1
# The national agency-code form (e.g. 000.00.01.H22) and procedure-code form (e.g. 1.001193).
UNIT_CODE_PATTERN = r"^\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}$"
PROCEDURE_CODE_PATTERN = r"^\d\.\d{6}$"


# Not a ValueError on purpose: pydantic would wrap one raised from model_post_init.
class CatalogueError(Exception):
    """The catalogue data is missing, malformed or inconsistent."""


class CatalogueLookupError(LookupError):
    """A code is unknown, or no unit is in force for it on the requested date."""

    message_in_clear: ClassVar[bool] = True  # unit and procedure codes, dates (error_text)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Unit(_Frozen):
    """An administrative unit or one of its agencies (desk, department, office)."""

    code: str = Field(pattern=UNIT_CODE_PATTERN)
    name: str
    name_en: str
    level: str
    kind: str
    parent: str | None = None
    tags: tuple[str, ...] = ()
    valid_from: date | None = None
    valid_to: date | None = None
    successor: str | None = None
    receives_dossiers: bool = False
    phone: str | None = Field(
        None,
        max_length=32,
        description="The unit's telephone, if the data gives one: a desk's is printed on "
        "Mẫu 02 as the number of the official who guides the applicant.",
    )
    code_invented: bool = Field(
        False, description="The code has the national form but is made up (demo data)."
    )
    note: str = ""

    def in_force(self, on: date) -> bool:
        """Whether the unit exists on ``on`` (validity bounds are inclusive)."""
        after_start = self.valid_from is None or self.valid_from <= on
        return after_start and (self.valid_to is None or on <= self.valid_to)


class Selector(_Frozen):
    """Who performs a route step, relative to the receiving unit (see module docstring)."""

    relative: Literal["receiving_unit", "returning_desk", "ancestor"]
    level: str | None = None
    kind: str | None = None
    tags: tuple[str, ...] = ()
    fallback_level: str | None = None

    @model_validator(mode="after")
    def _fields_match_relative(self) -> Selector:
        if self.relative == "ancestor" and (self.level is None or self.kind is None):
            raise ValueError("an 'ancestor' selector needs 'level' and 'kind'")
        extra = self.level or self.kind or self.tags or self.fallback_level
        if self.relative != "ancestor" and extra:
            raise ValueError(f"a '{self.relative}' selector takes no level/kind/tags")
        return self


class RouteStepSpec(_Frozen):
    """One step of a procedure's route: who acts and within how many working days."""

    name: str
    name_en: str
    performer: Selector
    budget_days: int = Field(ge=0)


class DocumentRequirement(_Frozen):
    """A document the applicant must submit."""

    type: str
    name: str
    name_en: str


class Fee(_Frozen):
    """The fee or charge (lệ phí / phí) of a procedure."""

    amount_vnd: int = Field(ge=0)
    note: str = ""


# Served as "15:00:00": a local wall-clock time without an offset, which JSON Schema's
# "format: time" (RFC 3339, offset required) does not describe; declared as it is served.
LocalTime = Annotated[
    time,
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^([01]\d|2[0-3]):[0-5]\d:[0-5]\d$",
            "description": "Local time in Vietnam (Asia/Ho_Chi_Minh, UTC+7), HH:MM:SS: a "
            "dossier received after it counts from the next working day.",
            "examples": ["15:00:00"],
        }
    ),
]


class Procedure(_Frozen):
    """One version of an administrative procedure (thủ tục hành chính)."""

    code: str = Field(pattern=PROCEDURE_CODE_PATTERN)
    version: str
    name: str
    name_en: str
    field: str
    field_en: str
    applies_to: tuple[str, ...] = Field(min_length=1)
    required_documents: tuple[DocumentRequirement, ...]
    fees: Fee
    cutoff: LocalTime = time(15, 0)
    cutoff_applies: bool = Field(
        True, description="False for procedures done on receipt: counted from the same day."
    )
    allow_any_receiving_unit: bool = False
    receiving_kinds: tuple[str, ...] = Field(min_length=1)
    receiving_levels: tuple[str, ...] = Field(min_length=1)
    valid_from: date | None = None
    valid_to: date | None = None
    note: str = ""
    route: tuple[RouteStepSpec, ...] = Field(min_length=1)

    @property
    def intake_cutoff(self) -> time | None:
        """The cut-off applied at reception (and to supplements), None when it does not apply."""
        return self.cutoff if self.cutoff_applies else None

    @property
    def total_budget_days(self) -> int:
        """The sum of the step budgets: the dossier's overall budget."""
        return sum(step.budget_days for step in self.route)

    @model_validator(mode="after")
    def _route_ends_at_returning_desk(self) -> Procedure:
        if self.route[-1].performer.relative != "returning_desk":
            raise ValueError("the last route step must be performed by the returning_desk")
        return self


class UnitInForce(NamedTuple):
    """The unit in force on a date and the codes followed to reach it (first = asked)."""

    unit: Unit
    chain: tuple[str, ...]


class Catalogue(_Frozen):
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


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CatalogueError(f"catalogue file not found: {path}") from None
    except (OSError, ValueError) as exc:
        raise CatalogueError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise CatalogueError(f"{path}: top level must be a JSON object")
    if data.get("schema") != SUPPORTED_SCHEMA:
        raise CatalogueError(f"{path}: unsupported schema {data.get('schema')!r}")
    if not isinstance(data.get("version"), str):
        raise CatalogueError(f"{path}: missing 'version'")
    return data


def available_configurations(data_dir: Path | None = None) -> tuple[str, ...]:
    """Configuration names for which a ``units-<name>.json`` file exists."""
    folder = data_dir or DEFAULT_DATA_DIR
    return tuple(sorted(p.stem.removeprefix("units-") for p in folder.glob("units-*.json")))


def load_catalogue(
    configuration: str = DEFAULT_CONFIGURATION, data_dir: Path | None = None
) -> Catalogue:
    """Load and check one configuration (default data: the repo's ``data/catalogue``)."""
    folder = data_dir or DEFAULT_DATA_DIR
    units_path = folder / f"units-{configuration}.json"
    if not units_path.is_file():
        known = ", ".join(available_configurations(folder)) or "none"
        raise CatalogueError(f"unknown configuration {configuration!r} (available: {known})")
    units_doc = _read_json(units_path)
    if units_doc.get("configuration", configuration) != configuration:
        raise CatalogueError(
            f"{units_path.name} declares configuration {units_doc['configuration']!r}"
        )
    procedures_doc = _read_json(folder / PROCEDURES_FILE)
    if units_doc["version"] != procedures_doc["version"]:
        raise CatalogueError(
            f"version mismatch: {units_path.name} is {units_doc['version']}, "
            f"{PROCEDURES_FILE} is {procedures_doc['version']}"
        )
    try:
        procedures = [Procedure.model_validate(p) for p in procedures_doc.get("procedures", [])]
    except (ValidationError, TypeError) as exc:
        raise CatalogueError(f"invalid {folder / PROCEDURES_FILE}: {exc}") from exc
    configurations = set(available_configurations(folder))
    for procedure in procedures:
        if unknown := set(procedure.applies_to) - configurations:
            raise CatalogueError(f"procedure {procedure.code}: unknown configurations {unknown}")
    try:
        return Catalogue(
            configuration=configuration,
            version=units_doc["version"],
            levels=units_doc.get("levels"),
            retired_levels=units_doc.get("retired_levels", ()),
            kinds=units_doc.get("kinds"),
            units=units_doc.get("units"),
            procedures=[p for p in procedures if configuration in p.applies_to],
        )
    except ValidationError as exc:
        raise CatalogueError(f"invalid {units_path}: {exc}") from exc
