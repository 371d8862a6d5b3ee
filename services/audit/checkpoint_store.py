"""The ``checkpoints`` collection: the log's signed checkpoints by tree size, with the
witnesses' cosignatures added to their notes. ``CheckpointStore`` is the part of
``store.AuditStore`` that writes and reads them.
"""

from __future__ import annotations

from datetime import datetime

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection

from audit.domain import Checkpoint
from shared.mongo.client import Document, Session


class CheckpointStore:
    """Signed checkpoints (``AuditStore`` has it)."""

    _checkpoints: AsyncCollection[Document]

    async def insert_checkpoint(
        self, checkpoint: Checkpoint, signed_at: datetime, session: Session
    ) -> None:
        """Store a signed checkpoint; DuplicateKeyError if that size is signed already."""
        await self._checkpoints.insert_one(
            {"_id": checkpoint.tree_size, **checkpoint.as_json(), "signed_at": signed_at},
            session=session,
        )

    async def add_cosignatures(self, checkpoint: Checkpoint, cosigners: list[str]) -> None:
        """Store a checkpoint's note with the witnesses' cosignatures added to it."""
        await self._checkpoints.update_one(
            {"_id": checkpoint.tree_size},
            {"$set": {"note": checkpoint.note, "cosigners": cosigners,
                      "cosigner_count": len(cosigners)}},
        )  # fmt: skip

    async def latest_checkpoint(
        self, session: Session | None = None, *, cosigners: int = 0
    ) -> Checkpoint | None:
        """The latest checkpoint (with at least ``cosigners`` witnesses' cosignatures)."""
        query = {"cosigner_count": {"$gte": cosigners}} if cosigners else {}
        doc = await self._checkpoints.find_one(query, sort=[("_id", -1)], session=session)
        return None if doc is None else _checkpoint(doc)

    async def checkpoint(self, tree_size: int) -> Checkpoint | None:
        doc = await self._checkpoints.find_one({"_id": tree_size})
        return None if doc is None else _checkpoint(doc)

    async def checkpoints(self, *, after: int | None, limit: int) -> list[Checkpoint]:
        query = {} if after is None else {"_id": {"$gt": after}}
        cursor = self._checkpoints.find(query).sort("_id", ASCENDING).limit(limit)
        return [_checkpoint(doc) async for doc in cursor]


def _checkpoint(doc: Document) -> Checkpoint:
    return Checkpoint(
        log_id=str(doc["log_id"]),
        tree_size=int(doc["tree_size"]),
        root_hash=str(doc["root_hash"]),
        timestamp=str(doc["timestamp"]),
        key_id=str(doc["key_id"]),
        note=str(doc.get("note", "")),  # checkpoints from before signed notes have none
        dossiers=doc.get("dossiers"),  # checkpoints from before dossier indexes have none
    )
