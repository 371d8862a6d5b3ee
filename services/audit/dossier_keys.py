"""Per-dossier keys that seal personal fields: kept beside the log, never in it.

``dossier_keys``: ``_id`` = the subject (dossier code), ``key`` (the dossier key, 32
random bytes, stored wrapped under ``LT_AUDIT_KEY_WRAPPING_KEY``: ``audit.key_wrapping``;
None once erased), ``wrapped_by`` (the wrapping key's id), ``key_id``, ``created_at``,
``erased_at``. A key stored before wrapping existed is the 32 bytes in clear, with no
``wrapped_by``: it is read as it is, and ``python -m audit.wrap_keys`` wraps it. A key
wrapped under a previous wrapping key (given while the wrapping key is rotated) is read
under it, and ``python -m audit.wrap_keys --rotate`` re-wraps it under the current one.
Destroying a key is the erasure: the log's sealed fields stay, and stay hashed, but
nobody can read them again. This is the only data of the audit service that is deleted,
and it is not part of the log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pymongo import ASCENDING

from audit import personal
from audit.key_wrapping import KeyWrapping, UnknownWrappingKey, WrappingKeys
from shared.mongo.client import Database, Document, Session


@dataclass(frozen=True)
class Candidate:
    """A live key old enough to be erased, if its dossier's last entry is old enough too."""

    subject: str
    created_at: datetime


@dataclass(frozen=True)
class MadeKeys:
    """Keys made for a run, to store with it: for dossiers without one, and after erasure."""

    new: dict[str, bytes] = field(default_factory=dict)
    renewed: dict[str, bytes] = field(default_factory=dict)


@dataclass
class WrapPage:
    """A page of keys found in clear (or under a previous wrapping key): the dossiers
    read, and how many were wrapped (re-wrapped under the current wrapping key)."""

    read: list[str] = field(default_factory=list)
    wrapped: int = 0


class DossierKeys:
    """The dossier keys collection."""

    def __init__(self, db: Database, wrapping: KeyWrapping | WrappingKeys) -> None:
        self._dossier_keys = db["dossier_keys"]
        self._wrapping = wrapping if isinstance(wrapping, WrappingKeys) else WrappingKeys(wrapping)

    async def ensure_indexes(self) -> None:
        await self._dossier_keys.create_index(
            [("erased_at", ASCENDING), ("created_at", ASCENDING), ("_id", ASCENDING)]
        )

    async def stored(self, subjects: list[str], session: Session) -> dict[str, bytes | None]:
        """The dossiers' stored keys, in one query: the key, None where it was erased; a
        dossier that never had a key is absent."""
        cursor = self._dossier_keys.find({"_id": {"$in": subjects}}, session=session)
        return {doc["_id"]: self._key(doc) async for doc in cursor}

    async def add(self, made: MadeKeys, now: datetime, session: Session) -> None:
        """Store the keys made for a run: new dossiers' in one insert; after an erasure the
        dossier's entries from now on have a new key."""
        if made.new:
            await self._dossier_keys.insert_many(
                [{"_id": s, **self._fields(s, key, now)} for s, key in made.new.items()],
                session=session,
            )
        for subject, key in made.renewed.items():
            await self._dossier_keys.update_one(
                {"_id": subject}, {"$set": self._fields(subject, key, now)}, session=session
            )

    async def keys(self, subjects: set[str]) -> dict[str, bytes | None]:
        """The live keys of these subjects (None where erased or never made)."""
        found: dict[str, bytes | None] = dict.fromkeys(subjects)
        async for doc in self._dossier_keys.find({"_id": {"$in": sorted(subjects)}}):
            found[doc["_id"]] = self._key(doc)
        return found

    def _key(self, doc: Document) -> bytes | None:
        """The dossier key a stored document holds: unwrapped, or as stored in clear by an
        earlier version (no ``wrapped_by``); None once erased. A key this service cannot
        unwrap raises ``DossierKeyUnreadable``: never read as erased."""
        stored = doc.get("key")
        if stored is None:
            return None
        if doc.get("wrapped_by") is None:
            return bytes(stored)
        return self._wrapping.unwrap(doc["_id"], bytes(stored), str(doc["wrapped_by"]))

    async def live_created_before(
        self, moment: datetime, limit: int, after: Candidate | None = None
    ) -> list[Candidate]:
        """Up to ``limit`` keys that are live and older than ``moment`` (erasure
        candidates), oldest first (by creation time, then dossier code), after the
        candidate ``after``: a page of them, to go on from the last one."""
        query: dict[str, Any] = {"erased_at": None, "created_at": {"$lt": moment}}
        if after is not None:
            query["$or"] = [
                {"created_at": {"$gt": after.created_at}},
                {"created_at": after.created_at, "_id": {"$gt": after.subject}},
            ]
        cursor = (
            self._dossier_keys.find(query, {"_id": 1, "created_at": 1})
            .sort([("created_at", ASCENDING), ("_id", ASCENDING)])
            .limit(limit)
        )
        return [Candidate(doc["_id"], doc["created_at"]) async for doc in cursor]

    async def erase(self, subject: str, now: datetime, session: Session) -> str | None:
        """Destroy the dossier's key; the id of the key destroyed (None if there was none)."""
        doc = await self._dossier_keys.find_one_and_update(
            {"_id": subject, "key": {"$ne": None}},
            {"$set": {"key": None, "wrapped_by": None, "erased_at": now}},
            session=session,
        )
        return None if doc is None else str(doc["key_id"])

    async def check_wrapping(self) -> None:
        """Refuse to go on (``UnknownWrappingKey``) when a live key is wrapped under a
        wrapping key that is neither the current one nor a previous one given: read, its
        dossier's fields would fail; the start says which key is missing instead."""
        other = await self._dossier_keys.find_one(
            {"key": {"$ne": None}, "wrapped_by": {"$nin": [None, *self._wrapping.ids]}},
            {"_id": 1, "wrapped_by": 1},
        )
        if other is not None:
            raise UnknownWrappingKey(
                f"dossier keys are wrapped under wrapping key {other['wrapped_by']} (dossier "
                f"{other['_id']}), but {self._wrapping.given()}: set the wrapping key they "
                "were wrapped under"
            )

    async def old_keys_left(self) -> int:
        """How many live keys are wrapped under another wrapping key than the current one
        (none left: the previous wrapping keys may be destroyed)."""
        return int(await self._dossier_keys.count_documents(self._old_keys()))

    async def rewrap_old(self, limit: int, after: str | None = None) -> WrapPage:
        """Re-wrap under the current wrapping key up to ``limit`` keys wrapped under a
        previous one, in dossier code order after ``after``. Each is replaced in one
        conditional update, only if it is still the wrapped key read (not erased, renewed
        or re-wrapped meanwhile): running it twice, or beside the service, is harmless,
        and a stop between two keys leaves each under a key that opens it."""
        query = self._old_keys(self._wrapping.previous_ids)
        if after is not None:
            query["_id"] = {"$gt": after}
        cursor = self._dossier_keys.find(query).sort("_id", ASCENDING).limit(limit)
        page = WrapPage()
        async for doc in cursor:
            subject, stored, wrapped_by = doc["_id"], bytes(doc["key"]), str(doc["wrapped_by"])
            rewrapped = {
                "key": self._wrapping.rewrap(subject, stored, wrapped_by),
                "wrapped_by": self._wrapping.id,
            }
            done = await self._dossier_keys.update_one(
                {"_id": subject, "key": stored, "wrapped_by": wrapped_by}, {"$set": rewrapped}
            )
            page.read.append(subject)
            page.wrapped += done.modified_count
        return page

    def _old_keys(self, among: list[str] | None = None) -> dict[str, Any]:
        """Live keys wrapped under a wrapping key other than the current one (``among``
        these, if given)."""
        wrapped_by: dict[str, Any] = {"$nin": [None, self._wrapping.id]}
        if among is not None:
            wrapped_by["$in"] = among
        return {"key": {"$ne": None}, "wrapped_by": wrapped_by}

    async def clear_keys_left(self) -> bool:
        """Whether any live key is still stored in clear (to wrap: python -m audit.wrap_keys)."""
        return await self._dossier_keys.find_one(_CLEAR, {"_id": 1}) is not None

    async def wrap_clear(self, limit: int, after: str | None = None) -> WrapPage:
        """Wrap up to ``limit`` keys stored in clear, in dossier code order after ``after``.
        Each is replaced only if it is still the clear key read (not erased or wrapped
        meanwhile), so running it twice, or beside the service, is harmless."""
        query: dict[str, Any] = dict(_CLEAR)
        if after is not None:
            query["_id"] = {"$gt": after}
        cursor = self._dossier_keys.find(query).sort("_id", ASCENDING).limit(limit)
        page = WrapPage()
        async for doc in cursor:
            subject, key = doc["_id"], bytes(doc["key"])
            wrapped = {"key": self._wrapping.wrap(subject, key), "wrapped_by": self._wrapping.id}
            done = await self._dossier_keys.update_one(
                {"_id": subject, "key": key, "wrapped_by": None}, {"$set": wrapped}
            )
            page.read.append(subject)
            page.wrapped += done.modified_count
        return page

    def _fields(self, subject: str, key: bytes, now: datetime) -> dict[str, Any]:
        return {
            "key": self._wrapping.wrap(subject, key),
            "wrapped_by": self._wrapping.id,
            "key_id": personal.key_id(key),
            "created_at": now,
            "erased_at": None,
        }


_CLEAR: dict[str, Any] = {"key": {"$ne": None}, "wrapped_by": None}
"""A live key stored in clear (by a version before wrapping: no ``wrapped_by``)."""
