"""Writes gathered from concurrent deliveries (``grouping.Gathering``), without a store:
with no linger an item is written at once, and those submitted while a write is in
flight go together in the next; with a linger a group waits for the busy deliveries,
at most that long; a group that fails is written item by item, so only the bad one
fails."""

from __future__ import annotations

import asyncio

import pytest
from notification.grouping import Gathering


class Writes:
    """Records each group written; a write waits for ``gate`` when one is given."""

    def __init__(self, gate: asyncio.Event | None = None, bad: str | None = None) -> None:
        self.groups: list[list[str]] = []
        self.gate = gate
        self.bad = bad

    async def __call__(self, items: list[str]) -> list[str]:
        self.groups.append(list(items))
        if self.gate is not None:
            await self.gate.wait()
        if self.bad in items:
            raise ValueError(f"{self.bad} cannot be stored")
        return [item.upper() for item in items]


async def test_without_linger_an_item_goes_at_once_and_the_next_ones_together() -> None:
    gate = asyncio.Event()
    writes = Writes(gate)
    group = Gathering(writes, linger_s=0, name="test")

    first = asyncio.create_task(group.submit("a"))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert writes.groups == [["a"]]  # written at once, nothing waited for
    later = [asyncio.create_task(group.submit(item)) for item in ("b", "c")]
    await asyncio.sleep(0)
    assert writes.groups == [["a"]]  # the first write is in flight: b and c wait for it
    gate.set()

    assert await first == "A"
    assert await asyncio.gather(*later) == ["B", "C"]
    assert writes.groups == [["a"], ["b", "c"]]


async def test_with_a_linger_a_group_waits_for_the_busy_deliveries() -> None:
    writes = Writes()
    group = Gathering(writes, linger_s=30, name="test")

    async def delivery(item: str, busy_s: float) -> str:
        with group.producing():
            await asyncio.sleep(busy_s)
            return await group.submit(item)

    results = await asyncio.gather(delivery("a", 0), delivery("b", 0.01), delivery("c", 0.02))

    assert list(results) == ["A", "B", "C"]
    assert writes.groups == [["a", "b", "c"]]  # one write, as soon as the last one ended


async def test_the_linger_bounds_the_wait_for_a_slow_delivery() -> None:
    writes = Writes()
    group = Gathering(writes, linger_s=0.01, name="test")
    slow_done = asyncio.Event()

    async def slow() -> None:
        with group.producing():
            await slow_done.wait()

    waiting = asyncio.create_task(slow())
    with group.producing():
        assert await group.submit("a") == "A"  # did not wait for the slow one
    slow_done.set()
    await waiting
    assert writes.groups == [["a"]]


async def test_a_group_that_fails_is_written_item_by_item_and_only_the_bad_one_fails() -> None:
    writes = Writes(bad="b")
    group = Gathering(writes, linger_s=30, name="test")

    async def delivery(item: str) -> str:
        with group.producing():
            return await group.submit(item)

    results = await asyncio.gather(*(delivery(i) for i in "abc"), return_exceptions=True)

    assert results[0] == "A" and results[2] == "C"
    assert isinstance(results[1], ValueError)
    assert writes.groups == [["a", "b", "c"], ["a"], ["b"], ["c"]]


async def test_closing_lets_the_write_in_flight_finish() -> None:
    gate = asyncio.Event()
    writes = Writes(gate)
    group = Gathering(writes, linger_s=0, name="test")
    pending = asyncio.create_task(group.submit("a"))
    await asyncio.sleep(0)
    asyncio.get_running_loop().call_later(0.01, gate.set)

    await group.close(timeout_s=5)

    assert await pending == "A"


async def test_closing_gives_up_on_a_write_that_never_ends() -> None:
    group = Gathering(Writes(asyncio.Event()), linger_s=0, name="test")
    pending = asyncio.create_task(group.submit("a"))
    await asyncio.sleep(0)

    await group.close(timeout_s=0.01)

    with pytest.raises(RuntimeError):  # stopped: nobody waits forever
        await pending
