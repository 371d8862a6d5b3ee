"""Units, procedures and their parts (selectors, route steps, documents, fees) as the
catalogue files describe them; the code formats and the catalogue's errors."""

from __future__ import annotations

from datetime import date, time
from typing import Annotated, ClassVar, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, model_validator

# The national agency-code form (e.g. 000.00.01.H22) and procedure-code form (e.g. 1.001193).
UNIT_CODE_PATTERN = r"^\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}$"
PROCEDURE_CODE_PATTERN = r"^\d\.\d{6}$"


# Not a ValueError on purpose: pydantic would wrap one raised from model_post_init.
class CatalogueError(Exception):
    """The catalogue data is missing, malformed or inconsistent."""


class CatalogueLookupError(LookupError):
    """A code is unknown, or no unit is in force for it on the requested date."""

    message_in_clear: ClassVar[bool] = True  # unit and procedure codes, dates (error_text)


class FrozenModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Unit(FrozenModel):
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


class Selector(FrozenModel):
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


class RouteStepSpec(FrozenModel):
    """One step of a procedure's route: who acts and within how many working days."""

    name: str
    name_en: str
    performer: Selector
    budget_days: int = Field(ge=0)


class DocumentRequirement(FrozenModel):
    """A document the applicant must submit."""

    type: str
    name: str
    name_en: str


class Fee(FrozenModel):
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


class Procedure(FrozenModel):
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
