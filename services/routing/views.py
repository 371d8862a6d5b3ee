"""Read views for desks and operations: a dossier, a unit's inbox, flows, overdue.

Every query goes through an index of ``store.py`` and reads the top-level fields,
never the embedded model (except for one dossier by code).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

from routing.domain.deadlines import CLOCK_RUNNING, Lateness, classify
from routing.domain.model import (
    OPEN_STATES,
    Dossier,
    PendingTransfer,
    Step,
    SupplementPause,
)
from routing.store import DossierStore, LevelOf
from shared.events.dossier import DossierState

_NO_MODEL = {"model": 0, "handovers": 0, "journey": 0}  # list views read the top-level copies
_RUNNING = {"$in": [s.value for s in CLOCK_RUNNING]}


class DossierView(BaseModel):
    """Where a dossier is and what is next."""

    code: str
    procedure_code: str
    procedure_name: str
    state: DossierState
    holding_unit: str
    action_unit: str | None = Field(description="The unit that must act next, if any.")
    receiving_unit: str
    current_step: int
    steps: list[Step]
    transfer: PendingTransfer | None
    supplement: SupplementPause | None
    appointment_date: date
    original_appointment_date: date
    paused_working_days: int
    overdue_raised: bool
    outcome: str | None
    documents_hash: str
    version: int


def dossier_view(d: Dossier) -> DossierView:
    """The view of a dossier, read from its attributes (its steps, transfer and
    supplement are taken as they are, not dumped and validated again)."""
    return DossierView.model_validate(d, from_attributes=True)


def _date(value: Any) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) else None


def _actions(doc: dict[str, Any]) -> list[str]:
    state = DossierState(doc["state"])
    if state is DossierState.IN_TRANSFER:
        return ["accept_transfer", "refuse_transfer"]
    if state is DossierState.PROCESSING:
        first = "return_result" if doc.get("final_step") else "complete_step"
        return [first, "request_supplement", "stop"]
    if state is DossierState.SUPPLEMENT_REQUESTED:
        return ["provide_supplement", "stop"]
    if state is DossierState.RESULT_READY:
        return ["hand_over"]
    return ["stop"] if state is DossierState.AWAITING_PAYMENT else []


class InboxItem(BaseModel):
    """A dossier a unit must act on."""

    dossier_code: str
    procedure_code: str
    procedure_name: str
    state: DossierState
    actions: list[str]
    holding_unit: str
    transfer_from: str | None
    current_step: int
    step_name: str = Field(description="The current step's name, in Vietnamese.")
    step_name_en: str | None = Field(
        description="The current step's name, in English (null only for a dossier stored "
        "by an earlier version whose record no longer reads)."
    )
    step_due_date: date | None
    appointment_date: date | None
    waiting_since: datetime | None
    step_lateness: Lateness | None
    dossier_lateness: Lateness | None


class InboxPage(BaseModel):
    unit: str
    total: int
    offset: int
    limit: int
    items: list[InboxItem]


def _inbox_item(doc: dict[str, Any], today: date, horizon: date) -> InboxItem:
    summary = doc["summary"]
    running = doc["state"] in _RUNNING["$in"]
    step_due, appointment = _date(doc["step_due_date"]), _date(doc["appointment_date"])
    return InboxItem(
        dossier_code=doc["_id"],
        procedure_code=doc["procedure_code"],
        procedure_name=summary["procedure_name"],
        state=doc["state"],
        actions=_actions(doc),
        holding_unit=doc["holding_unit"],
        transfer_from=summary["transfer_from"],
        current_step=doc["current_step"],
        step_name=summary["step_name"],
        step_name_en=summary.get("step_name_en"),
        step_due_date=step_due,
        appointment_date=appointment,
        waiting_since=summary["transfer_requested_at"] or summary["holding_since"],
        step_lateness=classify(step_due, today, horizon) if running else None,
        dossier_lateness=classify(appointment, today, horizon) if running else None,
    )


async def inbox(
    store: DossierStore,
    unit: str,
    *,
    states: list[DossierState],
    procedure: str | None,
    late_only: bool,
    today: date,
    horizon: date,
    limit: int,
    offset: int,
) -> InboxPage:
    """What ``unit`` must act on, soonest step due date first."""
    query: dict[str, Any] = {"action_unit": unit}
    if states:
        query["state"] = {"$in": [s.value for s in states]}
    if procedure:
        query["procedure_code"] = procedure
    if late_only:
        past = {"$lt": today.isoformat()}
        query["$and"] = [
            {"state": _RUNNING},
            {"$or": [{"step_due_date": past}, {"appointment_date": past}]},
        ]
    total = await store.dossiers.count_documents(query)
    cursor = (
        store.dossiers.find(query, _NO_MODEL)
        .sort([("step_due_date", 1), ("_id", 1)])
        .skip(offset)
        .limit(limit)
    )
    items = [_inbox_item(doc, today, horizon) async for doc in cursor]
    return InboxPage(unit=unit, total=total, offset=offset, limit=limit, items=items)


async def flows(
    store: DossierStore, since: datetime, until: datetime, level_of: LevelOf
) -> dict[str, Any]:
    """Dossiers by state, open dossiers by holding unit, hand-overs between levels."""
    by_state = {
        s.value: await store.dossiers.count_documents({"state": s.value}) for s in DossierState
    }
    open_states = [s.value for s in OPEN_STATES]
    pipeline: list[dict[str, Any]] = [
        {"$match": {"state": {"$in": open_states}}},
        {"$project": {"_id": 0, "state": 1, "holding_unit": 1}},
        {"$group": {"_id": {"unit": "$holding_unit", "state": "$state"}, "count": {"$sum": 1}}},
    ]
    units: dict[str, dict[str, Any]] = {}
    async for row in await store.dossiers.aggregate(pipeline):
        unit = row["_id"]["unit"]
        entry = units.setdefault(
            unit, {"unit": unit, "level": level_of(unit), "total": 0, "states": {}}
        )
        entry["states"][row["_id"]["state"]] = row["count"]
        entry["total"] += row["count"]
    moves: dict[tuple[str, str], dict[str, Any]] = {}
    window = {"$gte": since, "$lt": until}
    grouping = {
        "from": "$handovers.from_level",
        "to": "$handovers.to_level",
        "status": "$handovers.status",
    }
    async for row in await store.dossiers.aggregate(
        [
            {"$match": {"handovers": {"$elemMatch": {"requested_at": window}}}},
            {"$unwind": "$handovers"},
            {"$match": {"handovers.requested_at": window}},
            {"$group": {"_id": grouping, "count": {"$sum": 1}}},
        ]
    ):
        key = (row["_id"]["from"], row["_id"]["to"])
        entry = moves.setdefault(key, {"from_level": key[0], "to_level": key[1], "requested": 0})
        entry[row["_id"]["status"]] = entry.get(row["_id"]["status"], 0) + row["count"]
        entry["requested"] += row["count"]
    return {
        "by_state": by_state,
        "by_unit": sorted(units.values(), key=lambda e: (-e["total"], e["unit"])),
        "transfers": {
            "since": since,
            "until": until,
            "between_levels": sorted(
                moves.values(), key=lambda e: (e["from_level"], e["to_level"])
            ),
        },
    }


async def overdue(
    store: DossierStore, *, today: date, horizon: date, unit: str | None
) -> dict[str, Any]:
    """Late and nearly late dossiers (running clocks only), grouped by the unit to act."""
    upto = {"$lte": horizon.isoformat()}
    query: dict[str, Any] = {
        "state": _RUNNING,
        "$or": [{"step_due_date": upto}, {"appointment_date": upto}],
    }
    if unit:
        query["action_unit"] = unit
    grouped: dict[str, dict[str, Any]] = {}
    async for doc in store.dossiers.find(query, _NO_MODEL).sort([("step_due_date", 1), ("_id", 1)]):
        item = _inbox_item(doc, today, horizon)
        where = doc["action_unit"]
        entry = grouped.setdefault(
            where, {"unit": where, "late": 0, "nearly_late": 0, "dossiers": []}
        )
        late = "late" in (item.step_lateness, item.dossier_lateness)
        entry["late" if late else "nearly_late"] += 1
        entry["dossiers"].append(item.model_dump(mode="json"))
    return {
        "as_of": today,
        "nearly_late_until": horizon,
        "units": sorted(grouped.values(), key=lambda e: (-e["late"], e["unit"])),
    }
