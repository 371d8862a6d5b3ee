"""Group commit against the real store: grouped HTTP-style work shares transactions
under load, each piece commits with its facts in order, and one failing piece fails
alone without touching the others' writes."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from prometheus_client import REGISTRY

from shared.runtime import CommonSettings, ServiceRuntime, service_runtime
from shared.testing import eventually
from shared.unit_of_work import UnitOfWork
from tests.samples import withdrawn

CALLER = contextvars.ContextVar[str]("caller", default="nobody")
Work = Callable[[UnitOfWork], Awaitable[str]]


@pytest.fixture
async def runtime(common_settings: CommonSettings) -> AsyncIterator[ServiceRuntime]:
    """One transaction in flight at a time: everything arriving meanwhile is grouped."""
    mongo = common_settings.mongo.model_copy(
        update={"group_commit_transactions": 1, "group_commit_size": 16}
    )
    async with service_runtime(
        "grouped", common_settings.model_copy(update={"mongo": mongo})
    ) as rt:
        rt.workers.stop_early(rt.relay)  # the test reads the outbox itself
        yield rt


def commits() -> float:
    labels = {"service": "grouped", "collection": "", "command": "commitTransaction"}
    return REGISTRY.get_sample_value("lt_store_commands_total", labels) or 0.0


def groups_of(size: int) -> float:
    """How many groups of at most ``size`` pieces this service has committed."""
    labels = {"service": "grouped", "le": f"{float(size)}"}
    return REGISTRY.get_sample_value("lt_group_commit_size_bucket", labels) or 0.0


def writer(runtime: ServiceRuntime, name: str, subject: str) -> Work:
    """Work that stores a document, emits one fact and reports its caller's context."""

    async def work(uow: UnitOfWork) -> str:
        await runtime.db["dossiers"].insert_one({"_id": name}, session=uow.session)
        uow.emit(withdrawn(subject))
        return f"{name} for {CALLER.get()}"

    return work


async def as_caller(runtime: ServiceRuntime, caller: str, work: Work) -> str:
    CALLER.set(caller)  # this task's own context, as an HTTP request's would be
    return await runtime.run_unit_of_work(work, grouped=True)


async def hold_the_only_slot(runtime: ServiceRuntime) -> tuple[asyncio.Task[str], asyncio.Event]:
    """A first piece of work that keeps its transaction open until released."""
    started, release = asyncio.Event(), asyncio.Event()

    async def blocker(uow: UnitOfWork) -> str:
        started.set()
        await release.wait()
        await runtime.db["dossiers"].insert_one({"_id": "first"}, session=uow.session)
        return "first"

    task = asyncio.create_task(runtime.run_unit_of_work(blocker, grouped=True))
    await started.wait()
    return task, release


async def queued(runtime: ServiceRuntime, count: int) -> None:
    async def all_waiting() -> bool:
        return runtime.units.waiting == count

    await eventually(all_waiting, interval=0.001)


async def test_work_arriving_while_the_store_is_busy_shares_one_transaction(
    runtime: ServiceRuntime,
) -> None:
    first, release = await hold_the_only_slot(runtime)
    names = [f"w{i}" for i in range(5)]
    waiting = [
        asyncio.create_task(as_caller(runtime, f"caller-{n}", writer(runtime, n, "G-1")))
        for n in names
    ]
    await queued(runtime, 5)
    commits_before, groups_before = commits(), groups_of(6) - groups_of(4)
    release.set()

    assert await first == "first"
    assert await asyncio.gather(*waiting) == [f"{n} for caller-{n}" for n in names]
    assert await runtime.db["dossiers"].count_documents({}) == 6
    # The five waiting pieces committed together: one commit and one group of five.
    assert commits() - commits_before == 2  # the first one's and the group's
    assert groups_of(6) - groups_of(4) - groups_before == 1
    entries = await runtime.outbox.entries_for("G-1")
    assert [entry["seq"] for entry in entries] == [1, 2, 3, 4, 5]


async def test_a_failing_piece_fails_alone_and_the_others_commit(
    runtime: ServiceRuntime,
) -> None:
    first, release = await hold_the_only_slot(runtime)

    async def failing(uow: UnitOfWork) -> str:
        await runtime.db["dossiers"].insert_one({"_id": "bad"}, session=uow.session)
        uow.emit(withdrawn("BAD"))
        raise RuntimeError("refused midway")

    before = asyncio.create_task(as_caller(runtime, "a", writer(runtime, "a", "A")))
    bad = asyncio.create_task(as_caller(runtime, "b", failing))
    after = asyncio.create_task(as_caller(runtime, "c", writer(runtime, "c", "C")))
    await queued(runtime, 3)
    release.set()

    await first
    assert await before == "a for a"
    assert await after == "c for c"
    with pytest.raises(RuntimeError, match="refused midway"):
        await bad
    stored = await runtime.db["dossiers"].distinct("_id")
    assert sorted(stored) == ["a", "c", "first"]
    assert await runtime.outbox.entries_for("BAD") == []
    assert len(await runtime.outbox.entries_for("A")) == 1
    assert len(await runtime.outbox.entries_for("C")) == 1


async def test_with_a_free_slot_work_runs_alone_at_once(runtime: ServiceRuntime) -> None:
    commits_before, grouped_before = commits(), groups_of(32)
    CALLER.set("me")
    assert await runtime.run_unit_of_work(writer(runtime, "solo", "S"), grouped=True) == (
        "solo for me"
    )
    assert commits() - commits_before == 1
    assert groups_of(32) == grouped_before
