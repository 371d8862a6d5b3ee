"""Dossier documents stored by earlier versions of routing, brought up to date at start.

Hand-overs (for the flows view) and the journey's trace context used to live in their
own collections (``transfers``, ``journey_traces``); they now live in the dossier's
document. A dossier stored before that gets its ``handovers`` from its model and its
``journey`` from ``journey_traces``, once; a marker then spares later starts the scan.
A document whose model no longer reads is given no hand-overs and logged.
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


async def upgrade_earlier_documents(db: Database, store: DossierStore, now: datetime) -> int:
    """Bring earlier dossier documents up to date (idempotent); how many there were."""
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
