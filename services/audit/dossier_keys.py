"""Per-dossier keys that seal personal fields: kept beside the log, never in it.

``dossier_keys``: ``_id`` = the subject (dossier code), ``key`` (32 random bytes, or None
once erased), ``key_id``, ``created_at``, ``erased_at``. Destroying a key is the erasure:
the log's sealed fields stay, and stay hashed, but nobody can read them again. This is
the only data of the audit service that is deleted, and it is not part of the log.
"""

from __future__ import annotations

from datetime import datetime

from pymongo import ASCENDING

from audit import personal
from shared.mongo.client import Database, Session


class DossierKeys:
    """The dossier keys collection."""

    def __init__(self, db: Database) -> None:
        self._dossier_keys = db["dossier_keys"]

    async def ensure_indexes(self) -> None:
        await self._dossier_keys.create_index([("erased_at", ASCENDING), ("created_at", ASCENDING)])

    async def keys_for_append(
        self, subjects: list[str], now: datetime, session: Session
    ) -> dict[str, bytes]:
        """Each dossier's key, read in one query; a new one where a dossier has none (or its
        last one was erased), the new ones inserted at once."""
        cursor = self._dossier_keys.find({"_id": {"$in": subjects}}, session=session)
        found = {doc["_id"]: doc async for doc in cursor}
        keys: dict[str, bytes] = {}
        created = []
        for subject in subjects:
            doc = found.get(subject)
            if doc is not None and doc.get("key") is not None:
                keys[subject] = bytes(doc["key"])
                continue
            key = keys[subject] = personal.new_dossier_key()
            fields = {"key": key, "key_id": personal.key_id(key), "created_at": now}
            if doc is None:
                created.append({"_id": subject, **fields, "erased_at": None})
            else:  # erased: the dossier's entries from now on get a new key
                await self._dossier_keys.update_one(
                    {"_id": subject}, {"$set": {**fields, "erased_at": None}}, session=session
                )
        if created:
            await self._dossier_keys.insert_many(created, session=session)
        return keys

    async def keys(self, subjects: set[str]) -> dict[str, bytes | None]:
        """The live keys of these subjects (None where erased or never made)."""
        found: dict[str, bytes | None] = dict.fromkeys(subjects)
        async for doc in self._dossier_keys.find({"_id": {"$in": sorted(subjects)}}):
            found[doc["_id"]] = None if doc.get("key") is None else bytes(doc["key"])
        return found

    async def live_created_before(self, moment: datetime, limit: int) -> list[str]:
        """Subjects whose key is live and older than ``moment`` (erasure candidates)."""
        cursor = self._dossier_keys.find(
            {"erased_at": None, "created_at": {"$lt": moment}}, {"_id": 1}
        ).limit(limit)
        return [doc["_id"] async for doc in cursor]

    async def erase(self, subject: str, now: datetime, session: Session) -> str | None:
        """Destroy the dossier's key; the id of the key destroyed (None if there was none)."""
        doc = await self._dossier_keys.find_one_and_update(
            {"_id": subject, "key": {"$ne": None}},
            {"$set": {"key": None, "erased_at": now}},
            session=session,
        )
        return None if doc is None else str(doc["key_id"])
