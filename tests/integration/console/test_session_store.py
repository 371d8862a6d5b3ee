"""The console's store at start, against the real store: a database upgraded from a
version that kept sign-ins in progress in ``logins`` loses that collection (they travel in
a sealed cookie now); a new one never has it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from console.sessions import SessionStore

from shared.mongo.client import Database, mongo_client, service_database
from shared.runtime import CommonSettings


@pytest.fixture
async def db(common_settings: CommonSettings) -> AsyncIterator[Database]:
    async with mongo_client(common_settings.mongo, "tests-console-store") as client:
        yield service_database(client, common_settings.mongo, "console")


async def test_the_old_logins_collection_is_dropped_at_start(db: Database) -> None:
    # As the console kept a sign-in in progress before it moved to a sealed cookie.
    await db["logins"].create_index("expires_at", expireAfterSeconds=0)
    await db["logins"].insert_one({"_id": "state", "expires_at": datetime.now(UTC)})
    sessions = SessionStore(db)
    await sessions.ensure_indexes()
    await sessions.ensure_indexes()  # a second start: nothing left to drop
    assert await db.list_collection_names() == ["sessions"]


async def test_a_new_database_starts_without_logins(db: Database) -> None:
    await SessionStore(db).ensure_indexes()
    assert await db.list_collection_names() == ["sessions"]
