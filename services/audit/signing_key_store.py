"""The ``signing_keys`` collection: every key that has signed for the log, its window and
the log entry of the rotation that introduced it. ``SigningKeyStore`` is the part of
``store.AuditStore`` that writes and reads them.
"""

from __future__ import annotations

from datetime import datetime

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from shared.mongo.client import Document, Session


class SigningKeyStore:
    """The log's signing keys (``AuditStore`` has it)."""

    _keys: AsyncCollection[Document]

    async def current_signing_key(self, session: Session | None = None) -> Document | None:
        """The key that signs now (the one without ``valid_until``)."""
        return await self._keys.find_one({"valid_until": None}, session=session)

    async def add_signing_key(
        self,
        key_id: str,
        vkey: str,
        now: datetime,
        *,
        rotation_entry: int | None,
        session: Session | None = None,
    ) -> None:
        """Record a key that signs from ``now`` on (after a rotation, with its log entry)."""
        try:
            await self._keys.insert_one(
                {
                    "_id": key_id,
                    "key_id": key_id,
                    "vkey": vkey,
                    "valid_from": now,
                    "valid_until": None,
                    "rotation_entry": rotation_entry,
                },
                session=session,
            )
        except DuplicateKeyError:
            pass  # another instance with the same key registered it first

    async def retire_signing_key(self, key_id: str, now: datetime, session: Session) -> None:
        await self._keys.update_one(
            {"_id": key_id, "valid_until": None}, {"$set": {"valid_until": now}}, session=session
        )

    async def signing_keys(self) -> list[Document]:
        """Every key that has signed for this log, oldest first."""
        return await self._keys.find().sort("valid_from", ASCENDING).to_list()
