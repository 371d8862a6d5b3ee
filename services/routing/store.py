"""Routing's collection and indexes: one document per dossier (state, route, history).

A dossier is one document: the domain model under ``model`` plus top-level copies of
the fields the read views and the scheduler query on, each served by an index, its
hand-overs between levels (``handovers``, for the flows view) and its journey's trace
context (``journey``). Dates are ISO strings (``YYYY-MM-DD``), which sort and compare
like dates. An action reads the document once and writes it once: the write sets every
field but the journey and reads back the ``version`` it wrote over, which must be the
one read (optimistic concurrency inside the caller's transaction); a mismatch raises
``StaleDossier`` and the caller's transaction is given up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from routing.domain.closing import EarlyWithdrawal
from routing.domain.deadlines import CLOCK_RUNNING
from routing.domain.model import Dossier
from routing.journeys import Journey
from shared.catalogue.configuration import Catalogue
from shared.catalogue.model import CatalogueLookupError
from shared.mongo.client import Database, Document, Session
from shared.mongo.document_sequences import SEQ, DocumentSequences
from shared.mongo.outbox_sequences import numbers

LevelOf = Callable[[str], str]


def unit_level(catalogue: Catalogue, unit: str) -> str:
    """A unit's level from the catalogue (``unknown`` for a unit it does not list)."""
    try:
        return catalogue.unit(unit).level
    except CatalogueLookupError:
        return "unknown"


class StaleDossier(Exception):
    """The dossier changed since it was read; the caller retries or gives up."""


def iso(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


@dataclass(frozen=True)
class Loaded:
    """A dossier as read for a change, with the journey trace kept beside it."""

    dossier: Dossier
    journey: Journey


def handovers(d: Dossier, level_of: LevelOf) -> list[Document]:
    """The dossier's hand-overs as the flows view counts them (each unit's level from the
    catalogue in force when the dossier is written)."""
    return [
        {
            "transfer_id": t.transfer_id,
            "requested_at": t.requested_at,
            "from_unit": t.from_unit,
            "to_unit": t.to_unit,
            "from_level": level_of(t.from_unit),
            "to_level": level_of(t.to_unit),
            "status": t.status,
        }
        for t in d.transfers
    ]


def _document(d: Dossier, now: datetime, level_of: LevelOf) -> Document:
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
            "step_name_en": step.name_en,
            "holding_since": d.holding().since,
            "transfer_from": d.transfer.from_unit if d.transfer else None,
            "transfer_requested_at": d.transfer.requested_at if d.transfer else None,
            "supplement_requested_at": d.supplement.requested_at if d.supplement else None,
        },
        "handovers": handovers(d, level_of),
        "model": d.model_dump(mode="json"),
    }


class DossierStore:
    """The routed dossiers of one routing database."""

    def __init__(self, db: Database, level_of: LevelOf) -> None:
        self.dossiers = db["dossiers"]
        # Withdrawal requests that came before their dossier's reception, until it comes.
        self.early_withdrawals = db["early_withdrawals"]
        self.level_of = level_of
        self._sequences = DocumentSequences(db)

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
        await create([("handovers.requested_at", 1)])  # flows view: hand-overs in a window
        # A received batch asks for the requests kept for its dossiers.
        await self.early_withdrawals.create_index([("dossier_code", 1)])
        await self.early_withdrawals.create_index([("kept_at", 1)])

    async def get(self, code: str, session: Session | None = None) -> Dossier | None:
        """The dossier with this code, as stored (``version`` included)."""
        doc = await self.dossiers.find_one({"_id": code}, {"model": 1}, session=session)
        return None if doc is None else Dossier.model_validate(doc["model"])

    async def load(self, code: str, session: Session | None = None) -> Loaded | None:
        """The dossier with this code and its journey, in one read (to change it)."""
        doc = await self.dossiers.find_one(
            {"_id": code}, {"model": 1, "journey": 1}, session=session
        )
        if doc is None:
            return None
        return Loaded(Dossier.model_validate(doc["model"]), doc.get("journey") or {})

    async def routed_among(self, codes: list[str], session: Session) -> set[str]:
        """Which of these dossiers are stored already, in one read."""
        found = self.dossiers.find({"_id": {"$in": codes}}, {"_id": 1}, session=session)
        return {str(doc["_id"]) async for doc in found}

    async def insert_all(
        self, new: list[tuple[Loaded, int]], session: Session, now: datetime
    ) -> dict[str, range]:
        """Store new dossiers, each with its journey's trace context, in one write; the
        outbox numbers of each one's first facts (as many as given), reserved from their
        counters in one more (``shared.mongo.document_sequences``)."""
        if not new:
            return {}
        counts = {loaded.dossier.code: facts for loaded, facts in new}
        last = await self._sequences.first_numbers(counts, session)
        documents = [
            {**_document(loaded.dossier, now, self.level_of), "journey": loaded.journey}
            | {SEQ: last[loaded.dossier.code]}
            for loaded, _ in new
        ]
        await self.dossiers.insert_many(documents, ordered=True, session=session)
        return {code: numbers(last[code], count) for code, count in counts.items()}

    async def save(
        self, d: Dossier, *, read: Dossier, session: Session, now: datetime, facts: int = 0
    ) -> tuple[Dossier, range]:
        """Write ``d`` over the dossier read as ``read`` (version + 1), its journey kept;
        the saved dossier and the outbox numbers of its ``facts`` facts, reserved by the
        same write (``shared.mongo.document_sequences``).

        ``StaleDossier`` if the stored version is not the one read; the write is then
        already made in ``session``'s transaction, which the caller must give up (a unit
        of work does so on any exception). The filter names the ``_id`` alone and the
        version written over is read back: a second condition beside the ``_id`` makes the
        Rust store route the filter through every index and read the dossier before
        writing it (0.1-0.15 ms more CPU per save of a 4-5 kB dossier, the same at 16 kB,
        ``bench.store_shapes``). A writer that committed since this transaction read the
        dossier makes the write conflict.
        """
        saved = d.model_copy(update={"version": read.version + 1})
        fields = _document(saved, now, self.level_of)
        del fields["_id"]
        before = await self.dossiers.find_one_and_update(
            {"_id": d.code},
            {"$set": fields, "$inc": {SEQ: facts}},
            {"version": 1, SEQ: 1, "_id": 0},
            session=session,
        )
        if before is None or before.get("version") != read.version:
            raise StaleDossier(d.code)
        last = await self._sequences.moved_on(d.code, before, facts, session)
        return saved, numbers(last, facts)

    async def keep_early_withdrawal(
        self, early: EarlyWithdrawal, session: Session | None, now: datetime
    ) -> None:
        """Keep a withdrawal request of a dossier not received yet, in the caller's
        transaction (with its inbox record). Keyed by the request's event id: the same
        event kept again (a replay whose inbox record expired) changes nothing."""
        await self.early_withdrawals.update_one(
            {"_id": early.cause_id},
            {
                "$setOnInsert": {
                    "dossier_code": early.dossier_code,
                    "cause_type": early.cause_type,
                    "holding_unit": early.holding_unit,
                    "requested_at": early.requested_at,
                    "kept_at": now,
                }
            },
            upsert=True,
            session=session,
        )

    async def early_withdrawals_of(
        self, codes: list[str], session: Session | None = None
    ) -> dict[str, list[EarlyWithdrawal]]:
        """The withdrawal requests kept for these dossiers, by dossier, in one read."""
        found: dict[str, list[EarlyWithdrawal]] = {}
        cursor = self.early_withdrawals.find({"dossier_code": {"$in": codes}}, session=session)
        async for doc in cursor:
            kept = EarlyWithdrawal(
                cause_id=str(doc["_id"]),
                cause_type=doc["cause_type"],
                dossier_code=doc["dossier_code"],
                holding_unit=doc["holding_unit"],
                requested_at=doc["requested_at"],  # the client is tz_aware
            )
            found.setdefault(kept.dossier_code, []).append(kept)
        return found

    async def early_withdrawals_waiting(self, now: datetime) -> tuple[int, float]:
        """How many withdrawal requests are kept, and how long the oldest has waited (s)."""
        count = await self.early_withdrawals.count_documents({})
        oldest = await self.early_withdrawals.find_one({}, sort=[("kept_at", 1)])
        age = (now - oldest["kept_at"]).total_seconds() if oldest else 0.0
        return count, max(age, 0.0)

    async def forget_early_withdrawals(self, ids: list[str], session: Session) -> None:
        """The kept requests taken (in the transaction that took them)."""
        if ids:
            await self.early_withdrawals.delete_many({"_id": {"$in": ids}}, session=session)

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
