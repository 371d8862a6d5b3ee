"""Atomic counters (``$inc`` with upsert), usable inside a transaction."""

from __future__ import annotations

from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection

from shared.mongo.client import Document, Session


async def next_value(
    counters: AsyncCollection[Document], name: str, session: Session | None = None
) -> int:
    """Increment and return the counter ``name`` (first value is 1)."""
    return await reserve_values(counters, name, 1, session)


async def reserve_values(
    counters: AsyncCollection[Document], name: str, count: int, session: Session | None = None
) -> int:
    """Move the counter ``name`` on by ``count``; the last value reserved.

    The values ``last - count + 1 .. last`` are the caller's, in one write.
    """
    doc = await counters.find_one_and_update(
        {"_id": name},
        {"$inc": {"value": count}},
        upsert=True,
        return_document=ReturnDocument.AFTER,
        session=session,
    )
    assert doc is not None  # upsert always returns a document
    return int(doc["value"])
