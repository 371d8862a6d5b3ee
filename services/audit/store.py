"""The audit service's collections: entries (insert and read only), head, checkpoints, keys.

``entries`` has no update or delete path in this code (a unit test scans for one): an
entry is inserted once, at index ``_id``, in the transaction that also moves
``log_head`` forward. ``log_head`` is the one document every append writes first (only
if it is still the head the append was sealed after), so concurrent appends conflict
there and the driver retries them: indices stay gap-free. ``AuditStore`` also has the
checkpoints (``checkpoint_store``) and the signing keys (``signing_key_store``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from audit.checkpoint_store import CheckpointStore
from audit.domain import FIRST_OF_SUBJECT, GENESIS_HASH, SealedEntry, SubjectLink
from audit.signing_key_store import SigningKeyStore
from shared.mongo.client import Database, Document, Session
from shared.transparency import merkle

HEAD_ID = "head"


@dataclass(frozen=True)
class LogHead:
    """Where the log ends: its size, last chain hash and Merkle frontier."""

    size: int
    chain_hash: bytes
    peaks: list[tuple[int, bytes]]

    @classmethod
    def from_doc(cls, doc: Document) -> LogHead:
        return cls(
            size=int(doc["size"]),
            chain_hash=bytes.fromhex(doc["chain_hash"]),
            peaks=[(int(p["level"]), bytes.fromhex(p["hash"])) for p in doc["peaks"]],
        )


class AuditStore(CheckpointStore, SigningKeyStore):
    """The log's collections in the audit database."""

    def __init__(self, db: Database) -> None:
        self._entries = db["entries"]
        self._head = db["log_head"]
        self._checkpoints = db["checkpoints"]
        self._keys = db["signing_keys"]

    async def ensure_indexes(self) -> None:
        """Indexes for idempotence and the auditor's filters; the empty head."""
        await self._entries.create_index("event_id", unique=True, name="event_id")
        await self._entries.create_index([("subject", ASCENDING), ("_id", ASCENDING)])
        await self._entries.create_index([("event_type", ASCENDING), ("_id", ASCENDING)])
        await self._entries.create_index([("logged_at", ASCENDING), ("_id", ASCENDING)])
        try:
            await self._head.insert_one(
                {"_id": HEAD_ID, "size": 0, "chain_hash": GENESIS_HASH.hex(), "peaks": []}
            )
        except DuplicateKeyError:
            pass  # the log exists already

    # -- Appending (in the consumer's transaction) ---------------------------------------

    async def logged_among(self, event_ids: list[str], session: Session) -> set[str]:
        """Which of these events an entry already holds (one query for a batch)."""
        cursor = self._entries.find(
            {"event_id": {"$in": event_ids}}, {"event_id": 1, "_id": 0}, session=session
        )
        return {str(doc["event_id"]) async for doc in cursor}

    async def next_subject_links(
        self, subjects: list[str], session: Session
    ) -> dict[str, SubjectLink]:
        """Each subject's next link, for a batch in one query (its latest entry each)."""
        latest = await self._entries.aggregate(
            [
                {"$match": {"subject": {"$in": subjects}}},
                {"$sort": {"subject": 1, "_id": -1}},
                {
                    "$group": {
                        "_id": "$subject",
                        "index": {"$first": "$_id"},
                        "count": {"$first": "$subject_count"},
                    }
                },
            ],
            session=session,
        )
        links = dict.fromkeys(subjects, FIRST_OF_SUBJECT)
        async for row in latest:
            # An entry from before links existed counts as unknown: a fresh count after it.
            links[str(row["_id"])] = SubjectLink(
                previous=int(row["index"]), count=int(row.get("count") or 0) + 1
            )
        return links

    async def move_head(
        self, before: LogHead, after: LogHead, now: datetime, session: Session
    ) -> bool:
        """Move the head from ``before`` to ``after``; False if it is not ``before`` (its
        size and chain hash, which commits to every entry) and nothing was written.

        This is the append's first write, so two concurrent appends conflict here, before
        either inserts an entry: the indices ``before.size .. after.size - 1`` are this
        transaction's.
        """
        result = await self._head.update_one(
            {"_id": HEAD_ID, "size": before.size, "chain_hash": before.chain_hash.hex()},
            {
                "$set": {
                    "size": after.size,
                    "chain_hash": after.chain_hash.hex(),
                    "peaks": [{"level": level, "hash": h.hex()} for level, h in after.peaks],
                    "updated_at": now,
                }
            },
            session=session,
        )
        return result.matched_count == 1

    async def insert_entries(self, documents: list[Document], session: Session) -> None:
        """Insert a batch of entries (from ``entry_document``) in one call, in order."""
        await self._entries.insert_many(documents, ordered=True, session=session)

    # -- Reading entries -----------------------------------------------------------------

    async def head(self, session: Session | None = None) -> LogHead:
        doc = await self._head.find_one({"_id": HEAD_ID}, session=session)
        if doc is None:
            return LogHead(size=0, chain_hash=GENESIS_HASH, peaks=[])
        return LogHead.from_doc(doc)

    async def find_entries(
        self,
        *,
        subject: str | None = None,
        event_type: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        after: int | None = None,
        below: int | None = None,
        limit: int = 100,
    ) -> list[Document]:
        """Entries in index order matching every given filter (``after``: exclusive index)."""
        query: dict[str, Any] = {}
        if subject is not None:
            query["subject"] = subject
        if event_type is not None:
            query["event_type"] = event_type
        if since is not None or until is not None:
            query["logged_at"] = {
                **({"$gte": since} if since is not None else {}),
                **({"$lt": until} if until is not None else {}),
            }
        if after is not None or below is not None:
            query["_id"] = {
                **({"$gt": after} if after is not None else {}),
                **({"$lt": below} if below is not None else {}),
            }
        cursor = self._entries.find(query, {"subtrees": 0}).sort("_id", ASCENDING).limit(limit)
        return await cursor.to_list()

    async def last_logged_at(self, subject: str, ignoring: Iterable[str] = ()) -> datetime | None:
        """When the subject's latest entry was logged, if it has any; entries of the
        ``ignoring`` event types do not count."""
        query: dict[str, Any] = {"subject": subject}
        if ignored := sorted(ignoring):
            query["event_type"] = {"$nin": ignored}
        doc = await self._entries.find_one(query, {"logged_at": 1}, sort=[("_id", -1)])
        return None if doc is None else doc["logged_at"]

    async def entry(self, index: int) -> Document | None:
        return await self._entries.find_one({"_id": index}, {"subtrees": 0})

    async def logged_at(self, index: int) -> datetime | None:
        """When entry ``index`` was logged, if it exists."""
        doc = await self._entries.find_one({"_id": index}, {"logged_at": 1})
        return None if doc is None else doc["logged_at"]

    async def entry_subjects(
        self, start: int, end: int, session: Session | None = None
    ) -> list[tuple[int, str]]:
        """The index and subject of entries ``start .. end - 1``, in order;
        LookupError(message, index) at the first one missing."""
        cursor = self._entries.find(
            {"_id": {"$gte": start, "$lt": end}}, {"subject": 1}, session=session
        ).sort("_id", ASCENDING)
        found = [(int(doc["_id"]), str(doc["subject"])) async for doc in cursor]
        for expected, (index, _) in enumerate(found, start):
            if index != expected:
                raise LookupError(f"entry {expected} is missing from the store", expected)
        if len(found) != end - start:
            gap = start + len(found)
            raise LookupError(f"entry {gap} is missing from the store", gap)
        return found

    async def perfect_hashes(self, blocks: Iterable[merkle.Block]) -> dict[merkle.Block, bytes]:
        """Stored hashes of perfect subtrees: leaf hashes and the ``subtrees`` of entries."""
        wanted = {block: block[1] + (1 << block[0]) - 1 for block in blocks}
        if not wanted:
            return {}
        cursor = self._entries.find(
            {"_id": {"$in": sorted(set(wanted.values()))}}, {"leaf_hash": 1, "subtrees": 1}
        )
        by_end = {int(doc["_id"]): doc async for doc in cursor}
        found: dict[merkle.Block, bytes] = {}
        for (level, start), end in wanted.items():
            doc = by_end.get(end)
            if doc is None:
                raise LookupError(f"entry {end} is missing from the store", end)
            stored = doc["leaf_hash"] if level == 0 else doc["subtrees"][level - 1]
            found[(level, start)] = bytes.fromhex(stored)
        return found


def entry_document(
    entry: SealedEntry,
    *,
    event_id: str,
    event_type: str,
    subject: str,
    subtree_hashes: list[bytes],
) -> Document:
    """An entry as stored: at index ``_id``, with the perfect subtree hashes ending at it."""
    return {
        "_id": entry.index,
        "event_id": event_id,
        "event_type": event_type,
        "subject": subject,
        "logged_at": entry.logged_at,
        "canonical": entry.canonical.decode(),
        "event_hash": entry.event_hash.hex(),
        "subject_previous": entry.link.previous,
        "subject_count": entry.link.count,
        "leaf_hash": entry.leaf_hash.hex(),
        "prev_hash": entry.prev_hash.hex(),
        "chain_hash": entry.chain_hash.hex(),
        "subtrees": [h.hex() for h in subtree_hashes],
    }
