"""The unit of work against the real store: all of it commits with its facts, or nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from shared.runtime import CommonSettings, ServiceRuntime, service_runtime
from shared.unit_of_work import UnitOfWork
from tests.samples import withdrawn


@pytest.fixture
async def runtime(common_settings: CommonSettings) -> AsyncIterator[ServiceRuntime]:
    async with service_runtime("uow", common_settings) as rt:
        rt.relay.stop()  # the test reads the outbox itself
        yield rt


async def test_a_failing_block_writes_neither_state_nor_facts(runtime: ServiceRuntime) -> None:
    with pytest.raises(RuntimeError, match="refused midway"):
        async with runtime.unit_of_work() as uow:
            await runtime.db["dossiers"].insert_one({"_id": "F-1"}, session=uow.session)
            uow.emit(withdrawn("F-1"))
            raise RuntimeError("refused midway")
    assert await runtime.db["dossiers"].count_documents({}) == 0
    assert await runtime.outbox.entries_for("F-1") == []


async def test_run_commits_state_and_facts_in_order_and_returns_the_result(
    runtime: ServiceRuntime,
) -> None:
    async def work(uow: UnitOfWork) -> str:
        await runtime.db["dossiers"].insert_one({"_id": "R-1"}, session=uow.session)
        uow.emit(withdrawn("R-1"), withdrawn("R-1"))
        return "done"

    assert await runtime.run_unit_of_work(work) == "done"
    assert await runtime.db["dossiers"].count_documents({"_id": "R-1"}) == 1
    entries = await runtime.outbox.entries_for("R-1")
    assert [entry["seq"] for entry in entries] == [1, 2]
    assert {entry["status"] for entry in entries} == {"pending"}
