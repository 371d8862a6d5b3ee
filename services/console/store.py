"""The console's own collection: every replay and redelivery operators asked for.

A record is written with the operations fact that audit logs (one transaction). A
replay is then marked ``done`` once the message is back on its topic, or ``failed`` with
the broker's error. A redelivery is marked ``requested`` (its fact is on its way to
notification), then with what notification made of it (``sent``, ``failed``,
``skipped``, ``refused``; ``unknown`` when notification no longer has the notification),
with the notification's status last read. A dead letter has at most one record
(``letter``, unique): replayed again, it is answered with that record. A record left
``recorded`` (the console stopped, or its store failed, between the commit and the
republish or its settling), or a redelivery still ``requested``, is finished by the
console itself (``handlers.UnfinishedActions``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING

from console.domain import DONE, FAILED, RECORDED, REQUESTED, UNSETTLED, RedeliveryOutcome
from shared.mongo.client import Database, Document, Session

__all__ = ["DONE", "FAILED", "RECORDED", "REQUESTED", "ReplayStore"]


class ReplayStore:
    """Replays and redeliveries, newest first."""

    def __init__(self, db: Database) -> None:
        self.actions = db["operator_actions"]

    async def ensure_indexes(self) -> None:
        await self.actions.create_index([("at", DESCENDING)])
        await self.actions.create_index([("status", ASCENDING), ("at", ASCENDING)])
        await self.actions.create_index("dead_letter")  # records written before ``letter``
        # One action per dead letter (records of redeliveries asked for on a dossier's
        # page, and those written before, name none).
        await self.actions.create_index(
            "letter",
            unique=True,
            name="one_action_per_dead_letter",
            partialFilterExpression={"letter": {"$exists": True}},
        )

    async def record(self, doc: Document, session: Session, status: str = RECORDED) -> Document:
        """An action as asked (``recorded``: to be carried out; a redelivery is
        ``requested`` at once, its fact committed with it)."""
        recorded = {**doc, "status": status}
        await self.actions.insert_one(recorded, session=session)
        return recorded

    async def of_letter(self, letter: str) -> Document | None:
        """The action recorded for a dead letter, if any."""
        return await self.actions.find_one({"letter": letter})

    async def of_letters(self, letters: dict[str, str]) -> dict[str, Document]:
        """The latest action recorded for each of these dead letters (identity ->
        position), by position, however long ago it was: one query by the letters
        themselves, not a window of the latest actions (a letter replayed before the
        200 latest showed none, and a bulk replay did not skip it). A record written
        before ``letter`` was recorded is found by its position alone."""
        if not letters:
            return {}
        found = self.actions.find(
            {
                "$or": [
                    {"letter": {"$in": list(letters)}},
                    {"letter": {"$exists": False}, "dead_letter": {"$in": list(letters.values())}},
                ]
            }
        ).sort([("at", ASCENDING), ("_id", ASCENDING)])
        return {str(action["dead_letter"]): action async for action in found}  # latest wins

    async def unfinished(self, limit: int = 100) -> list[Document]:
        """Actions recorded but not carried out yet, and redeliveries whose outcome is not
        known yet, oldest first."""
        cursor = self.actions.find({"status": {"$in": list(UNSETTLED)}}).sort(
            [("at", ASCENDING), ("_id", ASCENDING)]
        )
        return await cursor.limit(limit).to_list()

    async def settle(self, action_id: str, status: str, at: datetime, error: str | None) -> None:
        """An action's outcome; one ``done`` stays done (two finishing it at once, one of
        them refused by the broker)."""
        update: dict[str, Any] = {"$set": {"status": status, "settled_at": at}}
        if error is not None:
            update["$set"]["error"] = error
        else:
            update["$unset"] = {"error": ""}
        await self.actions.update_one({"_id": action_id, "status": {"$ne": DONE}}, update)

    async def follow(self, action_id: str, outcome: RedeliveryOutcome, at: datetime) -> Document:
        """A redelivery's outcome as last read, while it is not settled; one settled stays.
        Returns the fields written (none when it was settled already)."""
        fields: Document = {
            "status": outcome.status,
            "notification_status": outcome.notification_status,
            "checked_at": at,
        }
        if outcome.settled:
            fields["settled_at"] = at
        if outcome.error is not None:
            fields["error"] = outcome.error
        changed = await self.actions.update_one(
            {"_id": action_id, "status": {"$in": list(UNSETTLED)}}, {"$set": fields}
        )
        return fields if changed.matched_count else {}

    async def recent(self, limit: int = 200) -> list[Document]:
        return await self.actions.find().sort("at", DESCENDING).limit(limit).to_list()
