"""Routing's collections and indexes: dossiers (state, route, history) and transfers.

A dossier is one document: the domain model under ``model`` plus top-level copies of
the fields the read views and the scheduler query on, each served by an index. Dates
are ISO strings (``YYYY-MM-DD``), which sort and compare like dates. Updates replace
the document only if its ``version`` is the one read (optimistic concurrency inside
the caller's transaction); a mismatch raises ``StaleDossier``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from pymongo import ASCENDING

from routing.domain.deadlines import CLOCK_RUNNING
from routing.domain.model import Dossier
from shared.mongo.client import Database, Document, Session

LevelOf = Callable[[str], str]


class StaleDossier(Exception):
    """The dossier changed since it was read; the caller retries or gives up."""


def iso(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


def _document(d: Dossier, now: datetime) -> Document:
    step = d.step
    return {
        "_id": d.code,
        "version": d.version,
        "state": d.state.value,
        "holding_unit": d.holding_unit,
        "action_unit": d.action_unit,
        "procedure_code": d.procedure_code,
        "receiving_unit": d.receiving_unit,
        "current_step": d.current_step,
        "final_step": d.on_final_step,
        "step_unit": step.unit,
        "step_due_date": iso(step.due_date),
        "step_overdue_raised": step.overdue_raised,
        "step_due_soon_raised": step.due_soon_raised,
        "appointment_date": iso(d.appointment_date),
        "overdue_raised": d.overdue_raised,
        "apologies": len(d.apologies),
        "received_at": d.received_at,
        "updated_at": now,
        "summary": {
            "procedure_name": d.procedure_name,
            "step_name": step.name,
            "holding_since": d.holding().since,
            "transfer_from": d.transfer.from_unit if d.transfer else None,
            "transfer_requested_at": d.transfer.requested_at if d.transfer else None,
            "supplement_requested_at": d.supplement.requested_at if d.supplement else None,
        },
        "model": d.model_dump(mode="json"),
    }


class DossierStore:
    """The routed dossiers and the hand-over log of one routing database."""

    def __init__(self, db: Database) -> None:
        self.dossiers = db["dossiers"]
        self.transfers = db["transfers"]

    async def ensure_indexes(self) -> None:
        create = self.dossiers.create_index
        # Inbox: what a unit must act on, soonest due first.
        await create([("action_unit", 1), ("state", 1), ("step_due_date", 1), ("_id", 1)])
        # Deadline scan: running clocks past their date (overdue) or near it (due soon),
        # not raised yet.
        await create([("state", 1), ("step_overdue_raised", 1), ("step_due_date", 1)])
        await create([("state", 1), ("overdue_raised", 1), ("appointment_date", 1)])
        await create([("state", 1), ("step_due_soon_raised", 1), ("step_due_date", 1)])
        # Overdue view (late and nearly late) and flows (counts by state and unit).
        await create([("state", 1), ("step_due_date", 1)])
        await create([("state", 1), ("appointment_date", 1)])
        await create([("state", 1), ("holding_unit", 1)])
        await create([("updated_at", 1)])  # on-time view: dossiers changed in a window
        await create([("apologies", 1)])  # on-time view: apologies issued (Mẫu 04)
        await self.transfers.create_index([("requested_at", ASCENDING)])
        await self.transfers.create_index([("dossier_code", ASCENDING), ("requested_at", 1)])

    async def get(self, code: str, session: Session | None = None) -> Dossier | None:
        """The dossier with this code, as stored (``version`` included)."""
        doc = await self.dossiers.find_one({"_id": code}, {"model": 1}, session=session)
        return None if doc is None else Dossier.model_validate(doc["model"])

    async def insert(self, d: Dossier, session: Session, now: datetime) -> None:
        await self.dossiers.insert_one(_document(d, now), session=session)

    async def save(
        self,
        d: Dossier,
        *,
        read: Dossier,
        session: Session,
        now: datetime,
        level_of: LevelOf,
    ) -> Dossier:
        """Replace the dossier read as ``read`` by ``d`` (version + 1) and log its hand-overs."""
        saved = d.model_copy(update={"version": read.version + 1})
        result = await self.dossiers.replace_one(
            {"_id": d.code, "version": read.version}, _document(saved, now), session=session
        )
        if result.matched_count != 1:
            raise StaleDossier(d.code)
        await self.log_transfers(saved, read, session, level_of)
        return saved

    async def log_transfers(
        self, d: Dossier, read: Dossier | None, session: Session, level_of: LevelOf
    ) -> None:
        """Upsert hand-overs that are new or changed (the flows view counts them)."""
        before = {t.transfer_id: t for t in (read.transfers if read else [])}
        for t in d.transfers:
            if before.get(t.transfer_id) == t:
                continue
            await self.transfers.replace_one(
                {"_id": t.transfer_id},
                {
                    "_id": t.transfer_id,
                    "dossier_code": d.code,
                    "step_index": t.step_index,
                    "from_unit": t.from_unit,
                    "to_unit": t.to_unit,
                    "from_level": level_of(t.from_unit),
                    "to_level": level_of(t.to_unit),
                    "requested_at": t.requested_at,
                    "status": t.status,
                    "settled_at": t.settled_at,
                },
                upsert=True,
                session=session,
            )

    async def overdue_candidates(
        self, today: date, limit: int, due_soon_before: date | None = None
    ) -> list[str]:
        """Codes of dossiers with a step or appointment date passed and not raised yet, and
        (given ``due_soon_before``) with a step due from today until before that date and
        no reminder yet. The domain decides; these queries only narrow the candidates."""
        running = {"$in": [s.value for s in CLOCK_RUNNING]}
        past: dict[str, Any] = {"$lt": today.isoformat()}
        queries = [
            {"state": running, "step_overdue_raised": False, "step_due_date": past},
            {"state": running, "overdue_raised": False, "appointment_date": past},
        ]
        if due_soon_before is not None:
            soon = {"$gte": today.isoformat(), "$lt": due_soon_before.isoformat()}
            # None also matches documents stored before the flag existed.
            not_reminded = {"$in": [False, None]}
            queries.append(
                {"state": running, "step_due_soon_raised": not_reminded, "step_due_date": soon}
            )
        codes: set[str] = set()
        for query in queries:
            cursor = self.dossiers.find(query, {"_id": 1}).limit(limit)
            codes |= {doc["_id"] async for doc in cursor}
        return sorted(codes)[:limit]


async def dossier_counts(store: DossierStore, today: date) -> tuple[dict[str, int], int, int]:
    """Dossiers by state, and running clocks past their step due date and appointment date."""
    by_state: dict[str, int] = {}
    async for row in await store.dossiers.aggregate(
        [{"$group": {"_id": "$state", "count": {"$sum": 1}}}]
    ):
        by_state[str(row["_id"])] = int(row["count"])
    running = {"$in": [s.value for s in CLOCK_RUNNING]}
    past = {"$lt": today.isoformat()}
    late_steps = await store.dossiers.count_documents({"state": running, "step_due_date": past})
    late = await store.dossiers.count_documents({"state": running, "appointment_date": past})
    return by_state, late_steps, late
