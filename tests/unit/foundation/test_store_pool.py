"""How many connections a service may open to the store is its setting."""

from __future__ import annotations

import pytest

from shared.mongo.client import mongo_client
from shared.settings import MongoSettings


async def test_the_client_opens_at_most_max_pool_size_connections(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LT_MONGO_MAX_POOL_SIZE", "3")
    async with mongo_client(MongoSettings(), "test") as client:  # connects lazily
        assert client.options.pool_options.max_pool_size == 3


def test_the_default_is_pymongos(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LT_MONGO_MAX_POOL_SIZE", raising=False)
    assert MongoSettings().max_pool_size == 100
