"""Atomic counters (``$inc`` with upsert), usable inside a transaction."""

from __future__ import annotations

from collections.abc import Mapping

from pymongo import ReturnDocument, UpdateOne
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


# From this many counters on, one read and one bulk write beat a findAndModify each.
BULK_FROM = 3


async def reserve_in_transaction(
    counters: AsyncCollection[Document], counts: Mapping[str, int], session: Session
) -> dict[str, int]:
    """Move several counters on, in the caller's transaction; the last value of each.

    A transaction of many subjects (a consumer's batch, a group of HTTP actions) pays
    two round trips instead of one per counter: it reads the values and increments them
    all in one bulk write. The transaction's snapshot makes that as safe as ``$inc``
    alone: a concurrent writer of the same counter conflicts, and one of the two is
    retried.
    """
    if len(counts) < BULK_FROM:
        return {
            name: await reserve_values(counters, name, n, session) for name, n in counts.items()
        }
    names = list(counts)
    found = counters.find({"_id": {"$in": names}}, {"value": 1}, session=session)
    current = {str(doc["_id"]): int(doc["value"]) async for doc in found}
    await counters.bulk_write(
        [
            UpdateOne({"_id": name}, {"$inc": {"value": n}}, upsert=True)
            for name, n in counts.items()
        ],
        ordered=False,
        session=session,
    )
    return {name: current.get(name, 0) + n for name, n in counts.items()}
