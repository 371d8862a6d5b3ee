"""Group commit's admission rules, with fake transactions: who runs alone, who waits,
how groups are cut, and what each caller gets when a group fails."""

from __future__ import annotations

import asyncio
import contextvars
from typing import Any

import pytest

from shared.group_commit import GroupCommit, Job, JobFailed
from shared.testing import eventually


class FakeStore:
    """Records the transactions it is asked for; the first one waits for ``release``."""

    def __init__(self, failing: frozenset[str] = frozenset(), commit_fails: bool = False) -> None:
        self.transactions: list[list[str]] = []
        self.started, self.release = asyncio.Event(), asyncio.Event()
        self.failing = failing
        self.commit_fails = commit_fails

    async def alone(self, job: Job[str, Any]) -> Any:
        self.transactions.append([job.make_unit(None)])  # type: ignore[arg-type]
        if len(self.transactions) == 1:
            self.started.set()
            await self.release.wait()
        return await job.work("alone")

    async def together(self, jobs: list[Job[str, Any]]) -> list[Any]:
        names = [job.make_unit(None) for job in jobs]  # type: ignore[arg-type]
        self.transactions.append(names)
        for job, name in zip(jobs, names, strict=True):
            if name in self.failing:
                raise JobFailed(job)
        if self.commit_fails:
            raise ConnectionError("commit failed")
        return [await job.work("together") for job in jobs]


def job(name: str, fail: bool = False) -> Job[str, Any]:
    async def work(unit: str) -> str:
        if fail:
            raise ValueError(f"{name} refused")
        return f"{name} {unit}"

    return Job(work, lambda session: name, contextvars.copy_context())


def groups(store: FakeStore, *, size: int = 16) -> GroupCommit[str]:
    return GroupCommit(
        alone=store.alone, together=store.together, max_transactions=1, max_group=size
    )


async def start_behind_a_busy_store(
    commit: GroupCommit[str], store: FakeStore, *jobs: Job[str, Any]
) -> tuple[asyncio.Task[Any], list[asyncio.Task[Any]]]:
    first = asyncio.create_task(commit.run(job("first")))
    await store.started.wait()
    rest = [asyncio.create_task(commit.run(j)) for j in jobs]

    async def all_waiting() -> bool:
        return commit.waiting == len(jobs)

    await eventually(all_waiting, timeout=5, interval=0)
    return first, rest


async def test_work_runs_alone_while_a_slot_is_free() -> None:
    store = FakeStore()
    store.release.set()
    commit = groups(store)
    assert await commit.run(job("a")) == "a alone"
    assert await commit.run(job("b")) == "b alone"
    assert store.transactions == [["a"], ["b"]]


async def test_work_arriving_meanwhile_is_grouped_up_to_the_group_size() -> None:
    store = FakeStore()
    commit = groups(store, size=3)
    first, rest = await start_behind_a_busy_store(commit, store, *(job(n) for n in "abcde"))
    store.release.set()
    assert await first == "first alone"
    assert await asyncio.gather(*rest) == [
        "a together", "b together", "c together", "d together", "e together"
    ]  # fmt: skip
    assert store.transactions == [["first"], ["a", "b", "c"], ["d", "e"]]


async def test_a_failing_piece_runs_alone_and_the_others_go_back_first_in_line() -> None:
    store = FakeStore(failing=frozenset({"b"}))
    commit = groups(store)
    first, rest = await start_behind_a_busy_store(
        commit, store, job("a"), job("b", fail=True), job("c")
    )
    store.release.set()
    await first
    a, b, c = await asyncio.gather(*rest, return_exceptions=True)
    assert (a, c) == ("a together", "c together")
    assert isinstance(b, ValueError)
    assert store.transactions == [["first"], ["a", "b", "c"], ["b"], ["a", "c"]]


async def test_when_the_group_cannot_commit_each_piece_finds_out_alone() -> None:
    store = FakeStore(commit_fails=True)
    commit = groups(store)
    first, rest = await start_behind_a_busy_store(commit, store, job("a"), job("b"))
    store.release.set()
    await first
    assert await asyncio.gather(*rest) == ["a alone", "b alone"]
    assert store.transactions == [["first"], ["a", "b"], ["a"], ["b"]]


async def test_the_callers_error_reaches_the_caller_when_alone() -> None:
    store = FakeStore()
    store.release.set()
    with pytest.raises(ValueError, match="x refused"):
        await groups(store).run(job("x", fail=True))
