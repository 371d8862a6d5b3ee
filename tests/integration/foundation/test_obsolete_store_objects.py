"""Dropping what a newer version no longer uses, kept by a store upgraded from an older
one: idempotent (a new store, a second start, another instance first), and a failure
other than "not there" is not swallowed."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pymongo.errors import OperationFailure

from shared.mongo.client import (
    Database,
    drop_collection_if_present,
    drop_index_if_present,
    mongo_client,
)
from shared.runtime import CommonSettings


@pytest.fixture
async def db(common_settings: CommonSettings) -> AsyncIterator[Database]:
    async with mongo_client(common_settings.mongo, "tests-obsolete") as client:
        yield client[f"{common_settings.mongo.database_prefix}obsolete"]


async def test_an_index_is_dropped_once_and_its_absence_is_no_error(db: Database) -> None:
    old = await db["things"].create_index([("a", 1), ("b", 1)])
    assert await drop_index_if_present(db["things"], [("a", 1), ("b", 1)]) is True
    assert old not in await db["things"].index_information()
    assert await drop_index_if_present(db["things"], [("a", 1), ("b", 1)]) is False
    assert await drop_index_if_present(db["no_such_collection"], "a_1") is False


async def test_only_an_absent_index_is_taken_as_dropped_already(db: Database) -> None:
    await db["things"].insert_one({"_id": 1})
    with pytest.raises(OperationFailure):
        await drop_index_if_present(db["things"], "_id_")  # the store refuses: raised


async def test_a_collection_is_dropped_once_and_its_absence_is_no_error(db: Database) -> None:
    await db["old"].insert_one({"_id": 1})
    assert await drop_collection_if_present(db, "old") is True
    assert await drop_collection_if_present(db, "old") is False
    assert "old" not in await db.list_collection_names()
