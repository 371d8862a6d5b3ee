"""A stopping dispatcher's budget: a send in flight gets the grace, then is cut off; a
backoff ends at once; a write the delivery depends on is retried while the store is away,
until it is back or the budget is spent."""

from __future__ import annotations

import asyncio

import pytest
from notification import stopping
from notification.retry import SendCutOff
from notification.stopping import StopBudget
from pymongo.errors import AutoReconnect, OperationFailure


class Flaky:
    """A store write failing ``failures`` times with ``error``, then answering."""

    def __init__(self, failures: int, error: Exception | None = None) -> None:
        self.failures, self.calls = failures, 0
        self.error = error or AutoReconnect("connection refused")

    async def write(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return "stored"


@pytest.fixture(autouse=True)
def short_pauses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stopping, "FIRST_PAUSE_S", 0.001)
    monkeypatch.setattr(stopping, "LONGEST_PAUSE_S", 0.001)


async def test_a_write_is_retried_after_the_stop_while_the_store_is_away() -> None:
    """Found by review: a stop made the write give up at once, and the message that had
    gone out was sent again after the restart."""
    budget = StopBudget(grace_s=10, budget_s=60)
    budget.ask()
    write = Flaky(3)
    assert await budget.until_stored(write.write) == "stored"
    assert write.calls == 4


async def test_once_the_budget_is_spent_the_store_error_is_raised() -> None:
    budget = StopBudget(grace_s=0, budget_s=0)
    budget.ask()
    write = Flaky(100)
    with pytest.raises(AutoReconnect):
        await budget.until_stored(write.write)
    assert write.calls == 1


async def test_an_error_of_the_write_itself_is_raised_at_once() -> None:
    budget = StopBudget(grace_s=10, budget_s=60)
    write = Flaky(100, OperationFailure("bad update", code=9))
    with pytest.raises(OperationFailure):
        await budget.until_stored(write.write)
    assert write.calls == 1


async def test_a_send_in_flight_is_cut_off_at_the_end_of_the_grace() -> None:
    budget = StopBudget(grace_s=0, budget_s=5)
    started = asyncio.Event()

    async def hangs() -> None:
        started.set()
        await asyncio.Event().wait()

    sending = asyncio.create_task(budget.send(hangs))
    await started.wait()
    budget.ask()
    with pytest.raises(SendCutOff):
        await asyncio.wait_for(sending, timeout=5)


async def test_a_send_that_ends_within_the_grace_is_left_alone() -> None:
    budget = StopBudget(grace_s=60, budget_s=70)
    started, release, sent = asyncio.Event(), asyncio.Event(), []

    async def waits() -> None:
        started.set()
        await release.wait()
        sent.append("message")

    sending = asyncio.create_task(budget.send(waits))
    await started.wait()
    budget.ask()
    release.set()
    await asyncio.wait_for(sending, timeout=5)
    assert sent == ["message"]


async def test_a_channel_timeout_is_not_taken_for_a_cut_off() -> None:
    budget = StopBudget(grace_s=60, budget_s=70)

    async def times_out() -> None:
        raise TimeoutError

    with pytest.raises(TimeoutError):
        await budget.send(times_out)


async def test_a_backoff_ends_at_once_when_the_sender_stops() -> None:
    sleeping = asyncio.Event()

    async def sleep(seconds: float) -> None:
        sleeping.set()
        await asyncio.sleep(seconds)

    budget = StopBudget(grace_s=10, budget_s=20, sleep=sleep)
    pausing = asyncio.create_task(budget.pause(3600))
    await sleeping.wait()
    budget.ask()
    await asyncio.wait_for(pausing, timeout=5)
    assert pausing.done() and budget.left_s() is not None
