"""Dossier documents stored by earlier versions of routing, brought up to date at start.

Hand-overs (for the flows view) and the journey's trace context used to live in their
own collections (``transfers``, ``journey_traces``); they now live in the dossier's
document. A dossier stored before that gets its ``handovers`` from its model and its
``journey`` from ``journey_traces``, once; a marker then spares later starts the scan.
A document whose model no longer reads is given no hand-overs and logged.

The list views (inbox, overdue) name the current step in Vietnamese and English from
the document's ``summary``; a summary stored before it held the English name
(``step_name_en``) gets it from the model, once, under a marker of its own (null for
a model that no longer reads).
"""

from __future__ import annotations

import logging
from datetime import datetime

from pydantic import ValidationError
from pymongo import UpdateOne

from routing.domain.model import Dossier
from routing.journeys import Journey
from routing.store import DossierStore, handovers
from shared.mongo.client import Database, Document

log = logging.getLogger(__name__)
BATCH = 200  # documents brought up to date per bulk write
MARKER = "dossier-documents-hold-handovers-and-journey"
MARKER_STEP_NAME_EN = "dossier-summaries-name-the-step-in-english"


async def upgrade_earlier_documents(db: Database, store: DossierStore, now: datetime) -> int:
    """Bring earlier dossier documents up to date (idempotent); how many upgrades that
    made (a document missing both hand-overs and the English step name counts twice).
    Each upgrade has its own marker: a store the first one already upgraded still gets
    the later ones."""
    return await _hold_handovers(db, store, now) + await _name_steps_in_english(db, store, now)


async def _hold_handovers(db: Database, store: DossierStore, now: datetime) -> int:
    upgrades = db["upgrades"]
    if await upgrades.find_one({"_id": MARKER}) is not None:
        return 0
    upgraded = 0
    while docs := await _earlier(store, BATCH):
        codes = [doc["_id"] for doc in docs]
        journeys = {
            doc.pop("_id"): doc async for doc in db["journey_traces"].find({"_id": {"$in": codes}})
        }
        updates = [
            UpdateOne(
                {"_id": doc["_id"], "handovers": {"$exists": False}},
                {"$set": _fields(store, doc, journeys.get(doc["_id"], {}))},
            )
            for doc in docs
        ]
        await store.dossiers.bulk_write(updates, ordered=False)
        upgraded += len(docs)
        log.info("earlier dossier documents brought up to date", extra={"count": upgraded})
    await upgrades.update_one({"_id": MARKER}, {"$set": {"done_at": now}}, upsert=True)
    return upgraded


async def _name_steps_in_english(db: Database, store: DossierStore, now: datetime) -> int:
    upgrades = db["upgrades"]
    if await upgrades.find_one({"_id": MARKER_STEP_NAME_EN}) is not None:
        return 0
    missing = {"summary.step_name_en": {"$exists": False}}
    upgraded = 0
    while docs := await store.dossiers.find(missing, {"model": 1}).limit(BATCH).to_list():
        updates = [
            UpdateOne(
                {"_id": doc["_id"], **missing},
                {"$set": {"summary.step_name_en": _step_name_en(doc)}},
            )
            for doc in docs
        ]
        await store.dossiers.bulk_write(updates, ordered=False)
        upgraded += len(docs)
        log.info("dossier summaries given the step's English name", extra={"count": upgraded})
    await upgrades.update_one({"_id": MARKER_STEP_NAME_EN}, {"$set": {"done_at": now}}, upsert=True)
    return upgraded


def _step_name_en(doc: Document) -> str | None:
    try:
        return Dossier.model_validate(doc["model"]).step.name_en
    except (KeyError, IndexError, ValidationError):
        log.warning(
            "dossier document unreadable; no English step name", extra={"dossier": doc["_id"]}
        )
        return None


async def _earlier(store: DossierStore, limit: int) -> list[Document]:
    cursor = store.dossiers.find({"handovers": {"$exists": False}}, {"model": 1})
    return await cursor.limit(limit).to_list()


def _fields(store: DossierStore, doc: Document, journey: Journey) -> Document:
    try:
        dossier = Dossier.model_validate(doc["model"])
    except (KeyError, ValidationError) as exc:
        log.warning("dossier document unreadable; no hand-overs", extra={"dossier": doc["_id"]})
        log.debug("unreadable dossier document", exc_info=exc)
        return {"handovers": [], "journey": journey}
    return {"handovers": handovers(dossier, store.level_of), "journey": journey}
