"""A store outage pauses consumption: nothing is dead-lettered, skipped or applied twice."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from chaos.servers import PrivateInfra
from shared.kafka.deadletter import read_dead_letters
from shared.runtime import CommonSettings, ServiceRuntime, service_runtime
from shared.settings import MongoSettings
from shared.testing import eventually
from shared.topics import DOSSIER_EVENTS
from tests.integration.foundation.counting import counting_handler, effect_counts, on_withdrawn
from tests.integration.foundation.test_consumer_runner import withdrawn


@pytest.fixture
async def private_store(tmp_path: Path) -> AsyncIterator[PrivateInfra]:
    store = PrivateInfra("store", tmp_path / "local", timeout_s=180)
    await store.start()
    try:
        yield store
    finally:
        await store.stop()


async def test_records_wait_for_the_store_and_are_applied_once_it_is_back(
    common_settings: CommonSettings, private_store: PrivateInfra
) -> None:
    mongo = MongoSettings(
        uri=f"mongodb://127.0.0.1:{private_store.port}/?directConnection=true",
        database_prefix=common_settings.mongo.database_prefix,
        server_selection_timeout_ms=300,
        transaction_timeout_s=2,
    )
    settings = common_settings.model_copy(update={"mongo": mongo})
    async with service_runtime("counting", settings) as rt:
        runner = rt.add_consumer([DOSSIER_EVENTS], on_withdrawn(counting_handler(rt.db)))
        await runner.start()
        await private_store.stop()
        for n in range(3):
            await rt.publisher.publish(withdrawn(f"S-{n}"), DOSSIER_EVENTS)

        consuming = asyncio.create_task(runner.run())
        await eventually(lambda: _tried_and_paused(rt), timeout=30)
        await private_store.start()
        try:
            await eventually(lambda: _all_applied(rt), timeout=60)
        except AssertionError:  # say what was seen: missing or duplicated effects
            seen = await effect_counts(rt.db)
            raise AssertionError(
                f"effects {seen}, consumer outages {rt.consumers[0].outages}"
            ) from None
        runner.stop()
        await consuming

    assert await read_dead_letters(settings.kafka) == []


async def _tried_and_paused(rt: ServiceRuntime) -> bool:
    return rt.consumers[0].outages >= 2  # fetched, could not apply, paused, tried again


async def _all_applied(rt: ServiceRuntime) -> bool:
    return await effect_counts(rt.db) == {f"S-{n}": 1 for n in range(3)}
