"""The on-time view for operations: completed steps on time or late, per unit and per
procedure and month, and the apologies (Mẫu 04) late units issued (each, numbered).

A step is on time when it was completed on or before its due date (local calendar
day); the returning desk's step completes when the result is ready, not when the
applicant collects it. Months are the local month of completion. Reads the stored model of dossiers
updated since the window start (an index on ``updated_at``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

from routing.store import DossierStore


class OnTimeRow(BaseModel):
    """Completed steps of one unit (or procedure) in one month."""

    key: str
    month: str
    completed: int
    on_time: int
    late: int
    rate: float


class Apology(BaseModel):
    """An apology (Mẫu 04) a late unit issued, with the dates it moved."""

    dossier_code: str
    procedure_code: str
    holding_unit: str
    issuing_unit: str
    number: int
    reason: str
    original_appointment_date: date
    appointment_date: date = Field(description="The new appointment date the apology gave.")
    late: bool = Field(
        False, description="Issued later than one working day before the appointment."
    )
    due_by: date | None = Field(
        None, description="The last day it was on time (null for one stored before 3.0)."
    )


class OnTime(BaseModel):
    since: datetime
    by_unit: list[OnTimeRow]
    by_procedure: list[OnTimeRow]
    apologies: list[Apology]


def _rows(counts: dict[tuple[str, str], list[int]]) -> list[OnTimeRow]:
    return [
        OnTimeRow(
            key=key,
            month=month,
            completed=on + late,
            on_time=on,
            late=late,
            rate=round(on / (on + late), 4),
        )
        for (key, month), (on, late) in sorted(counts.items(), key=lambda kv: (kv[0][1], kv[0][0]))
    ]


def tally(
    dossiers: list[dict[str, Any]], local_date: Callable[[datetime], date], since: datetime
) -> tuple[list[OnTimeRow], list[OnTimeRow]]:
    """Pure: on-time and late completed steps per (unit, month) and (procedure, month)."""
    by_unit: dict[tuple[str, str], list[int]] = {}
    by_procedure: dict[tuple[str, str], list[int]] = {}
    for model in dossiers:
        for step in model["steps"]:
            completed, due = step.get("completed_at"), step.get("due_date")
            if not completed or not due or step.get("skipped"):
                continue
            at = datetime.fromisoformat(completed)
            if at < since:
                continue
            done_on = local_date(at)
            late = int(done_on > date.fromisoformat(due))
            month = done_on.strftime("%Y-%m")
            for counts, key in ((by_unit, step["unit"]), (by_procedure, model["procedure_code"])):
                entry = counts.setdefault((key, month), [0, 0])
                entry[late] += 1
    return _rows(by_unit), _rows(by_procedure)


async def on_time(
    store: DossierStore, since: datetime, local_date: Callable[[datetime], date]
) -> OnTime:
    """The view: completed steps since ``since`` and every apology issued."""
    cursor = store.dossiers.find(
        {"updated_at": {"$gte": since}}, {"model.steps": 1, "model.procedure_code": 1}
    )
    models = [doc["model"] async for doc in cursor]
    by_unit, by_procedure = tally(models, local_date, since)
    apologies = [
        Apology(
            dossier_code=doc["_id"],
            procedure_code=doc["procedure_code"],
            holding_unit=doc["holding_unit"],
            issuing_unit=notice["issuing_unit"],
            number=notice.get("number", 1),
            reason=notice["reason"],
            original_appointment_date=notice["original_appointment_date"],
            appointment_date=notice["new_appointment_date"],
            late=notice.get("late", False),
            due_by=notice.get("due_by"),
        )
        async for doc in store.dossiers.find(
            {"apologies": {"$gt": 0}},
            {"procedure_code": 1, "holding_unit": 1, "model.apologies": 1},
        ).sort("_id", 1)
        for notice in doc["model"]["apologies"]
    ]
    return OnTime(since=since, by_unit=by_unit, by_procedure=by_procedure, apologies=apologies)
