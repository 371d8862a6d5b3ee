"""Scenario: the event pipeline itself (outbox write, relay to Kafka, consume with inbox)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from bench.common import Report, Stopwatch, bench_settings, rate
from shared.events.dossier import DossierState, DossierWithdrawn
from shared.handlers import HandlerRegistry
from shared.runtime import ServiceRuntime, service_runtime
from shared.testing import eventually
from shared.topics import DOSSIER_EVENTS
from shared.unit_of_work import UnitOfWork

SCENARIO = "pipeline (outbox→kafka→inbox)"


async def write_events(rt: ServiceRuntime, count: int, concurrency: int, first: int = 0) -> None:
    queue = list(range(first, first + count))

    async def writer() -> None:
        while queue:
            n = queue.pop()
            fact = DossierWithdrawn(
                dossier_code=f"BENCH-{n:06d}",
                state=DossierState.WITHDRAWN,
                holding_unit="U",
                withdrawn_at=datetime.now(UTC),
            )

            async with rt.unit_of_work() as uow:
                await rt.db["dossiers"].insert_one({"_id": fact.subject()}, session=uow.session)
                uow.emit(fact)

    await asyncio.gather(*(writer() for _ in range(concurrency)))


async def run(report: Report, count: int = 2000) -> None:
    async with bench_settings() as settings:
        handled = 0

        async with service_runtime("bench-writer", settings) as writer_rt:
            watch = Stopwatch()
            await write_events(writer_rt, count, concurrency=8)
            report.add(
                SCENARIO, "outbox writes (8 concurrent)", rate(count, watch.seconds()), "events/s"
            )
            await eventually(lambda: _drained(writer_rt), timeout=300, interval=0.02)
            report.add(
                SCENARIO, "written → all published", rate(count, watch.seconds()), "events/s"
            )

        async with service_runtime("bench-reader", settings) as reader_rt:

            async def count_effect(event: DossierWithdrawn, uow: UnitOfWork) -> None:
                nonlocal handled
                await reader_rt.db["effects"].insert_one(
                    {"_id": uow.envelope.id}, session=uow.session
                )
                handled += 1

            runner = reader_rt.add_consumer(
                [DOSSIER_EVENTS], HandlerRegistry().on(DossierWithdrawn, count_effect)
            )
            await runner.start()
            watch = Stopwatch()
            while handled < count and watch.seconds() < 300:
                await runner.process_batch(timeout_ms=500)
            report.add(
                SCENARIO,
                "consumed with inbox (1 consumer)",
                rate(handled, watch.seconds()),
                "events/s",
            )


async def _drained(rt: ServiceRuntime) -> bool:
    return await rt.outbox.count_pending() == 0
