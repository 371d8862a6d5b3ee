"""The console's own collection: every replay and redelivery operators asked for.

A record is written with the operations fact that audit logs (one transaction), then
marked ``done`` once the message is back on its topic; a record left ``recorded``
means the republish failed and can be tried again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import DESCENDING

from shared.mongo.client import Database, Document, Session

RECORDED, DONE, FAILED = "recorded", "done", "failed"


class ReplayStore:
    """Replays and redeliveries, newest first."""

    def __init__(self, db: Database) -> None:
        self.actions = db["operator_actions"]

    async def ensure_indexes(self) -> None:
        await self.actions.create_index([("at", DESCENDING)])

    async def record(self, doc: Document, session: Session) -> None:
        await self.actions.insert_one({**doc, "status": RECORDED}, session=session)

    async def settle(self, action_id: str, status: str, at: datetime, error: str | None) -> None:
        fields: dict[str, Any] = {"status": status, "settled_at": at}
        if error is not None:
            fields["error"] = error
        await self.actions.update_one({"_id": action_id}, {"$set": fields})

    async def recent(self, limit: int = 200) -> list[Document]:
        return await self.actions.find().sort("at", DESCENDING).limit(limit).to_list()
