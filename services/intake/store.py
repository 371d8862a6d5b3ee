"""Intake's own collections: the catalogue copy it serves, dossiers, daily code counters,
and Idempotency-Key records.

Dates without time (validity, appointment) are stored as ISO strings, so range filters
compare them as text.
"""

from __future__ import annotations

import contextlib
from datetime import date, datetime
from typing import Any

from pymongo import ASCENDING, ReplaceOne
from pymongo.errors import BulkWriteError, DuplicateKeyError

from intake.model import PERSONAL_FIELDS, IntakeDossier
from shared.catalogue.configuration import Catalogue
from shared.mongo.client import Database, Document, Session
from shared.mongo.sequences import next_value

CATALOGUE_META_ID = "catalogue"


def _in_force_filter(on: date) -> dict[str, Any]:
    day = on.isoformat()
    return {
        "$and": [
            {"$or": [{"valid_from": None}, {"valid_from": {"$lte": day}}]},
            {"$or": [{"valid_to": None}, {"valid_to": {"$gte": day}}]},
        ]
    }


def _public(doc: Document) -> Document:
    """A catalogue document without the store's own fields."""
    return {k: v for k, v in doc.items() if k not in {"_id", "catalogue_version", "configuration"}}


async def _bulk_upsert(collection: Any, ops: list[ReplaceOne[Document]]) -> None:
    # Two instances starting together may race on the same upsert: a second pass settles it.
    try:
        await collection.bulk_write(ops, ordered=False)
    except BulkWriteError:
        await collection.bulk_write(ops, ordered=False)


class IntakeStore:
    """The intake service's database."""

    def __init__(self, db: Database) -> None:
        self._units = db["units"]
        self._procedures = db["procedures"]
        self._meta = db["catalogue_meta"]
        self._dossiers = db["dossiers"]
        self._sequences = db["dossier_sequences"]
        self._idempotency = db["idempotency"]
        self._prepared: set[str] = set()  # daily counters known to exist (never removed)

    async def ensure_indexes(self) -> None:
        await self._units.create_index([("level", ASCENDING), ("kind", ASCENDING)])
        await self._units.create_index([("parent", ASCENDING)])
        await self._procedures.create_index([("field", ASCENDING)])
        await self._dossiers.create_index([("receiving_unit", ASCENDING), ("state", ASCENDING)])
        await self._dossiers.create_index(
            [("receiving_unit", ASCENDING), ("received_at", ASCENDING)]
        )  # the log book (Mẫu 06)
        # The retention's candidates: not erased, closed in one state, ended before a
        # cutoff, in the order they ended (``erasure_candidates``). Erased dossiers leave
        # the range, so a pass reads only what is due.
        await self._dossiers.create_index(
            [
                ("personal_data_erased_at", ASCENDING),
                ("state", ASCENDING),
                ("applied_up_to", ASCENDING),
                ("_id", ASCENDING),
            ],
            name="erasure_candidates",
        )
        # A data subject's dossiers (``dossiers_of_subject``); erased ones hold "[erased]".
        await self._dossiers.create_index(
            [("applicant.identity_hash", ASCENDING), ("created_at", ASCENDING)],
            name="subject_access",
        )
        # Expired keys are removed by the server; reads also ignore them meanwhile.
        await self._idempotency.create_index("expires_at", expireAfterSeconds=0)

    # --- catalogue -----------------------------------------------------------------

    async def load_catalogue(self, catalogue: Catalogue, now: datetime) -> None:
        """Upsert every unit and procedure of this release; drop what it no longer has."""
        tag = {"catalogue_version": catalogue.version, "configuration": catalogue.configuration}
        for collection, items in (
            (self._units, catalogue.units),
            (self._procedures, catalogue.procedures),
        ):
            ops = [
                ReplaceOne({"_id": item.code}, {**item.model_dump(mode="json"), **tag}, upsert=True)
                for item in items
            ]
            if ops:
                await _bulk_upsert(collection, ops)
            await collection.delete_many({"$or": [{k: {"$ne": v}} for k, v in tag.items()]})
        await self._meta.replace_one(
            {"_id": CATALOGUE_META_ID}, {**tag, "loaded_at": now}, upsert=True
        )

    async def catalogue_info(self) -> dict[str, str]:
        meta = await self._meta.find_one({"_id": CATALOGUE_META_ID}) or {}
        return {
            "configuration": str(meta.get("configuration", "")),
            "version": str(meta.get("catalogue_version", "")),
        }

    async def find_units(
        self, criteria: dict[str, Any], in_force_on: date | None, limit: int, offset: int
    ) -> tuple[int, list[Document]]:
        """Units matching exact ``criteria`` (and in force on a date), in code order."""
        query = {k: v for k, v in criteria.items() if v is not None}
        if in_force_on is not None:
            query |= _in_force_filter(in_force_on)
        return await self._page(self._units, query, limit, offset)

    async def get_unit(self, code: str) -> Document | None:
        doc = await self._units.find_one({"_id": code})
        return _public(doc) if doc else None

    async def find_procedures(
        self, criteria: dict[str, Any], in_force_on: date | None, limit: int, offset: int
    ) -> tuple[int, list[Document]]:
        """Procedures matching ``criteria`` (a list value matches any element), code order."""
        query = {k: v for k, v in criteria.items() if v is not None}
        if in_force_on is not None:
            query |= _in_force_filter(in_force_on)
        return await self._page(self._procedures, query, limit, offset)

    async def get_procedure(self, code: str) -> Document | None:
        doc = await self._procedures.find_one({"_id": code})
        return _public(doc) if doc else None

    async def _page(
        self, collection: Any, query: dict[str, Any], limit: int, offset: int
    ) -> tuple[int, list[Document]]:
        total = await collection.count_documents(query)
        cursor = collection.find(query).sort("_id", ASCENDING).skip(offset).limit(limit)
        return total, [_public(doc) for doc in await cursor.to_list()]

    # --- dossiers ------------------------------------------------------------------

    async def prepare_sequence(self, name: str) -> None:
        """Create a daily counter at 0 outside any transaction, so allocations only $inc.

        Once per counter and process: a submission then costs no write outside its
        transaction.
        """
        if name in self._prepared:
            return
        with contextlib.suppress(DuplicateKeyError):  # another instance created it first
            await self._sequences.update_one(
                {"_id": name}, {"$setOnInsert": {"value": 0}}, upsert=True
            )
        self._prepared.add(name)

    async def next_sequence(self, name: str, session: Session) -> int:
        """The next number of a daily counter, in the caller's transaction (no gaps)."""
        return await next_value(self._sequences, name, session)

    async def insert_dossier(self, dossier: IntakeDossier, session: Session) -> None:
        await self._dossiers.insert_one(dossier.stored(), session=session)

    async def get_dossier(self, code: str, session: Session | None = None) -> IntakeDossier | None:
        doc = await self._dossiers.find_one({"_id": code}, session=session)
        return IntakeDossier.model_validate(doc) if doc else None

    async def get_dossiers(self, codes: list[str], session: Session) -> dict[str, IntakeDossier]:
        """The dossiers with these codes that intake holds, by code (one query)."""
        cursor = self._dossiers.find({"_id": {"$in": codes}}, session=session)
        return {doc["_id"]: IntakeDossier.model_validate(doc) async for doc in cursor}

    async def replace_dossier(self, dossier: IntakeDossier, session: Session) -> None:
        await self._dossiers.replace_one({"_id": dossier.code}, dossier.stored(), session=session)

    async def replace_dossiers(self, dossiers: list[IntakeDossier], session: Session) -> None:
        """Write these dossiers over their stored versions, in one bulk write."""
        if dossiers:
            ops = [ReplaceOne({"_id": d.code}, d.stored()) for d in dossiers]
            await self._dossiers.bulk_write(ops, ordered=True, session=session)

    async def received_by(
        self, unit: str, start: datetime, end: datetime, limit: int
    ) -> list[IntakeDossier]:
        """Dossiers ``unit`` received in ``[start, end)``, oldest first (the log book)."""
        query = {"receiving_unit": unit, "received_at": {"$gte": start, "$lt": end}}
        cursor = self._dossiers.find(query).sort("received_at", ASCENDING).limit(limit)
        return [IntakeDossier.model_validate(doc) async for doc in cursor]

    async def erasure_candidates(
        self,
        state: str,
        ended_before: datetime,
        limit: int,
        after: IntakeDossier | None = None,
    ) -> list[IntakeDossier]:
        """Up to ``limit`` dossiers in the closed ``state`` whose personal data are kept and
        whose latest fact (``applied_up_to``) is older than ``ended_before``, in that order
        (then by code), after the dossier ``after``: a page, to go on from its last."""
        query: dict[str, Any] = {
            "personal_data_erased_at": None,
            "state": state,
            "applied_up_to": {"$lt": ended_before},
        }
        if after is not None:
            query["$or"] = [
                {"applied_up_to": {"$gt": after.applied_up_to}},
                {"applied_up_to": after.applied_up_to, "_id": {"$gt": after.code}},
            ]
        cursor = (
            self._dossiers.find(query)
            .sort([("applied_up_to", ASCENDING), ("_id", ASCENDING)])
            .limit(limit)
        )
        return [IntakeDossier.model_validate(doc) async for doc in cursor]

    async def erase_personal_data(
        self,
        erased: IntakeDossier,
        states: frozenset[str],
        ended_before: datetime,
        session: Session | None = None,
    ) -> bool:
        """Write the erased personal fields of a dossier, if it is still due: not erased,
        in one of ``states``, its latest fact older than ``ended_before`` (checked by the
        store in the write, so two erasers, or a fact applied meanwhile, cannot undo or
        repeat it). Only the fields holding personal data are set: what the consumer
        changes meanwhile (state, history) is left as it is. False: nothing was due.
        In ``session``'s transaction, with the fact of the erasure (``intake.erasure``)."""
        fields = sorted({path.split(".")[0] for path in PERSONAL_FIELDS})
        document = erased.stored()
        result = await self._dossiers.update_one(
            {
                "_id": erased.code,
                "personal_data_erased_at": None,
                "state": {"$in": sorted(states)},
                "applied_up_to": {"$lt": ended_before},
            },
            {
                "$set": {field: document[field] for field in fields}
                | {"personal_data_erased_at": erased.personal_data_erased_at}
            },
            session=session,
        )
        return result.modified_count == 1

    async def dossiers_of_subject(self, identity_hash: str, limit: int) -> list[IntakeDossier]:
        """Up to ``limit`` dossiers whose applicant has this identity hash, oldest first."""
        cursor = (
            self._dossiers.find({"applicant.identity_hash": identity_hash})
            .sort([("created_at", ASCENDING), ("_id", ASCENDING)])
            .limit(limit)
        )
        return [IntakeDossier.model_validate(doc) async for doc in cursor]

    async def count_dossiers(self) -> int:
        return await self._dossiers.count_documents({})

    # --- idempotency ---------------------------------------------------------------

    async def idempotent_result(self, record_id: str, now: datetime) -> Document | None:
        """The stored result of a key, unless it expired (an expired one is removed)."""
        doc = await self._idempotency.find_one({"_id": record_id})
        if doc is not None and doc["expires_at"] <= now:
            await self._idempotency.delete_one({"_id": record_id, "expires_at": {"$lte": now}})
            return None
        return doc

    async def remember_result(self, record: Document, session: Session) -> None:
        """Keep a key's result with the dossier (a concurrent twin hits the unique _id)."""
        await self._idempotency.insert_one(record, session=session)
