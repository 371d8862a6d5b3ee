"""Counters moved on inside transactions: values never repeat or skip, whether one
counter or many are reserved, and concurrent transactions on the same counters each
get their own block (of two conflicting writers, one is retried)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from pymongo.asynchronous.collection import AsyncCollection

from shared.mongo.client import Client, Document, Session, mongo_client, run_in_transaction
from shared.mongo.sequences import BULK_FROM, reserve_in_transaction
from shared.runtime import CommonSettings
from tests.integration.store_commands import StoreCommands

SERVICE = "tests-counters"  # the client's name: its commands are counted under it


@pytest.fixture
async def store(
    common_settings: CommonSettings,
) -> AsyncIterator[tuple[Client, AsyncCollection[Document]]]:
    async with mongo_client(common_settings.mongo, SERVICE) as client:
        yield client, client[f"{common_settings.mongo.database_prefix}counters"]["counters"]


async def reserve(
    client: Client, counters: AsyncCollection[Document], counts: dict[str, int]
) -> dict[str, int]:
    async def work(session: Session) -> dict[str, int]:
        return await reserve_in_transaction(counters, counts, session)

    return await run_in_transaction(client, work)


async def test_many_counters_cost_one_read_and_one_write_and_continue_each_sequence(
    store: tuple[Client, AsyncCollection[Document]],
) -> None:
    client, counters = store
    names = [f"outbox:D-{i}" for i in range(BULK_FROM + 2)]
    await counters.insert_one({"_id": names[0], "value": 7})  # one already moved on
    sent = StoreCommands(SERVICE)

    last = await reserve(client, counters, {name: 2 for name in names})

    assert last == {names[0]: 9, **{name: 2 for name in names[1:]}}
    assert sent.on("counters") == {"find": 1, "update": 1}
    stored = {doc["_id"]: doc["value"] async for doc in counters.find()}
    assert stored == last


async def test_a_few_counters_are_moved_on_one_by_one(
    store: tuple[Client, AsyncCollection[Document]],
) -> None:
    client, counters = store
    sent = StoreCommands(SERVICE)
    assert await reserve(client, counters, {"a": 1, "b": 3}) == {"a": 1, "b": 3}
    assert sent.on("counters") == {"findAndModify": 2}


async def test_concurrent_transactions_never_share_a_value(
    store: tuple[Client, AsyncCollection[Document]],
) -> None:
    client, counters = store
    names = [f"s{i}" for i in range(BULK_FROM)]
    await counters.insert_many([{"_id": name, "value": 0} for name in names])

    blocks = await asyncio.gather(
        *(reserve(client, counters, {name: 1 for name in names}) for _ in range(8))
    )

    for name in names:
        assert sorted(block[name] for block in blocks) == list(range(1, 9))
