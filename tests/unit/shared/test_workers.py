"""Background workers start first stage first and stop last stage first, within a budget."""

from __future__ import annotations

import asyncio

from shared.workers import PeriodicWorker, Stage, Workers


class Recording:
    """A worker that notes its life in a shared journal."""

    def __init__(self, name: str, journal: list[str], linger_s: float = 0.0) -> None:
        self._name, self._journal, self._linger_s = name, journal, linger_s
        self._stopping = asyncio.Event()

    @property
    def name(self) -> str:
        return self._name

    async def start(self) -> None:
        self._journal.append(f"start {self.name}")

    async def run(self) -> None:
        await self._stopping.wait()
        await asyncio.sleep(self._linger_s)  # the batch in hand
        self._journal.append(f"ran {self.name}")

    def stop(self) -> None:
        self._stopping.set()

    async def close(self) -> None:
        self._journal.append(f"close {self.name}")


async def test_the_relay_starts_first_and_stops_last_consumers_the_other_way() -> None:
    journal: list[str] = []
    workers = Workers()
    workers.add(Recording("consumer", journal), Stage.INTAKE)
    workers.add(Recording("relay", journal), Stage.DELIVERY)
    workers.add(Recording("scheduler", journal), Stage.BACKGROUND)
    await workers.start()
    await workers.start()  # a second start starts nothing twice
    assert journal == ["start relay", "start scheduler", "start consumer"]
    journal.clear()
    await workers.stop(budget_s=5, close_s=1)
    assert journal == [
        *("ran consumer", "close consumer"),
        *("ran scheduler", "close scheduler"),
        *("ran relay", "close relay"),
    ]


async def test_a_worker_that_outlives_the_budget_is_cancelled_and_closed() -> None:
    journal: list[str] = []
    workers = Workers()
    workers.add(Recording("slow", journal, linger_s=60), Stage.BACKGROUND)
    await workers.start()
    await workers.stop(budget_s=0.05, close_s=1)
    assert journal == ["start slow", "close slow"]  # never finished its batch


async def test_a_worker_with_a_stop_time_of_its_own_finishes_past_the_shared_budget() -> None:
    """Notification's dispatcher: a send in flight, then its record, outlast the budget."""
    journal: list[str] = []
    workers = Workers()
    workers.add(Recording("dispatcher", journal, linger_s=0.2), Stage.BACKGROUND, stop_s=30)
    workers.add(Recording("relay", journal), Stage.DELIVERY)
    await workers.start()
    journal.clear()
    await workers.stop(budget_s=0.01, close_s=1)
    assert journal == [
        *("ran dispatcher", "close dispatcher"),
        *("ran relay", "close relay"),
    ]


class Counting(PeriodicWorker):
    def __init__(self, fail_first: bool) -> None:
        super().__init__("counting", interval_s=0)
        self.ticks = 0
        self.fail_first = fail_first
        self.done = asyncio.Event()

    async def tick(self) -> int:
        self.ticks += 1
        if self.fail_first and self.ticks == 1:
            raise ConnectionError("store away")
        if self.ticks >= 3:
            self.done.set()
        return self.ticks


async def test_a_periodic_worker_goes_on_after_a_failed_tick_until_stopped() -> None:
    worker = Counting(fail_first=True)
    running = asyncio.create_task(worker.run())
    await asyncio.wait_for(worker.done.wait(), timeout=5)
    worker.stop()
    await asyncio.wait_for(running, timeout=5)
    assert worker.ticks >= 3 and worker.name == "counting"
