"""A tiny test service: counts events per subject, so tests can see effects and duplicates."""

from __future__ import annotations

from shared.envelope import Envelope
from shared.events.registry import EventData
from shared.mongo.client import Database, Session


def counting_handler(db: Database):  # type: ignore[no-untyped-def]
    """A handler that adds one to ``effects[subject]`` per applied event."""

    async def count(envelope: Envelope, data: EventData, session: Session) -> None:
        await db["effects"].update_one(
            {"_id": envelope.subject},
            {"$inc": {"n": 1}, "$push": {"ids": envelope.id}},
            upsert=True,
            session=session,
        )

    return count


def failing_handler(db: Database):  # type: ignore[no-untyped-def]
    """A handler that always fails after writing (the write must be rolled back)."""

    async def fail(envelope: Envelope, data: EventData, session: Session) -> None:
        await db["effects"].insert_one({"would_be": envelope.id}, session=session)
        raise RuntimeError(f"cannot handle {envelope.subject}")

    return fail


async def effect_counts(db: Database) -> dict[str, int]:
    return {doc["_id"]: doc["n"] async for doc in db["effects"].find({"n": {"$exists": True}})}
