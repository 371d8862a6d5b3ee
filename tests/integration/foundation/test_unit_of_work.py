"""The unit of work against the real store: all of it commits with its facts, or nothing;
its after-commit callbacks run only once it committed."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pymongo.errors import OperationFailure

from shared.runtime import CommonSettings, ServiceRuntime, service_runtime
from shared.unit_of_work import UnitOfWork
from tests.samples import withdrawn


@pytest.fixture
async def runtime(common_settings: CommonSettings) -> AsyncIterator[ServiceRuntime]:
    async with service_runtime("uow", common_settings) as rt:
        rt.workers.stop_early(rt.relay)  # the test reads the outbox itself
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


async def test_after_commit_callbacks_run_once_committed_and_only_for_what_committed(
    runtime: ServiceRuntime,
) -> None:
    called: list[int] = []
    attempts = 0

    async def work(uow: UnitOfWork) -> None:
        nonlocal attempts
        attempts += 1
        attempt = attempts
        await runtime.db["dossiers"].insert_one({"_id": f"C-{attempt}"}, session=uow.session)
        uow.after_commit(lambda: called.append(attempt))
        if attempt == 1:  # a write conflict: the attempt is aborted and run again
            conflict = OperationFailure("write conflict")
            conflict._add_error_label("TransientTransactionError")
            raise conflict

    await runtime.run_unit_of_work(work)
    assert attempts == 2 and called == [2]
    assert [doc["_id"] async for doc in runtime.db["dossiers"].find()] == ["C-2"]

    with pytest.raises(RuntimeError, match="refused"):
        async with runtime.unit_of_work() as uow:
            uow.after_commit(lambda: called.append(0))
            raise RuntimeError("refused")
    async with runtime.unit_of_work() as uow:
        uow.after_commit(lambda: called.append(3))
        assert called == [2]  # not before the commit
    assert called == [2, 3]
