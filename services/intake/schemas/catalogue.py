"""The catalogue as intake serves it: pages of units and procedures, with the release."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, computed_field

from intake.examples import PROCEDURE_EXAMPLE, UNIT_EXAMPLE
from shared.catalogue.model import Procedure, Unit


class CatalogueInfo(BaseModel):
    """The catalogue data release being served."""

    configuration: str
    version: str


class UnitOut(Unit):
    """An administrative unit or agency, as loaded from the versioned catalogue."""

    model_config = ConfigDict(json_schema_extra={"examples": [UNIT_EXAMPLE]})


class UnitPage(BaseModel):
    """One page of units, in code order."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "catalogue": {"configuration": "three-level", "version": "2026.11.1"},
                    "total": 1,
                    "limit": 50,
                    "offset": 0,
                    "items": [UNIT_EXAMPLE],
                }
            ]
        }
    )

    catalogue: CatalogueInfo
    total: int
    limit: int
    offset: int
    items: list[UnitOut]


class ProcedureOut(Procedure):
    """A procedure (thủ tục hành chính) with its route and its total budget in working days."""

    model_config = ConfigDict(json_schema_extra={"examples": [PROCEDURE_EXAMPLE]})

    @computed_field(description="Sum of the step budgets, in working days.")  # type: ignore[prop-decorator]
    @property
    def total_budget_days(self) -> int:
        return sum(step.budget_days for step in self.route)


class ProcedurePage(BaseModel):
    """One page of procedures, in code order."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "catalogue": {"configuration": "three-level", "version": "2026.11.1"},
                    "total": 1,
                    "limit": 50,
                    "offset": 0,
                    "items": [PROCEDURE_EXAMPLE],
                }
            ]
        }
    )

    catalogue: CatalogueInfo
    total: int
    limit: int
    offset: int
    items: list[ProcedureOut]
