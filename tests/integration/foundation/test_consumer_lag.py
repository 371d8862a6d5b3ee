"""Consumer lag against the real broker: a stuck consumer shows its backlog, and each
instance reports only the partitions it owns.

The store is out of reach as the driver says it (``ServerSelectionTimeoutError``, raised
by the handler), so every batch fails and the consumer stays paused.
"""

from __future__ import annotations

from contextlib import AsyncExitStack

from pymongo.errors import ServerSelectionTimeoutError

from shared.events.withdrawal import DossierWithdrawn
from shared.runtime import CommonSettings, service_runtime
from shared.telemetry.metrics import CONSUMER_LAG
from shared.testing import eventually
from shared.topics import DOSSIER_EVENTS, topic_name
from shared.unit_of_work import UnitOfWork
from tests.integration.foundation.counting import effect_counts, on_withdrawn
from tests.integration.foundation.test_consumer_runner import withdrawn


async def store_out_of_reach(event: DossierWithdrawn, uow: UnitOfWork) -> None:
    raise ServerSelectionTimeoutError("127.0.0.1:27017: [Errno 111] Connect call failed")


def reported(service: str, topic: str) -> dict[int, float]:
    """The lag gauge's series for the service's partitions of the topic, as scraped."""
    return {
        int(sample.labels["partition"]): sample.value
        for metric in CONSUMER_LAG.collect()
        for sample in metric.samples
        if sample.labels["service"] == service and sample.labels["topic"] == topic
    }


async def test_a_consumer_stuck_on_the_store_reports_the_backlog_as_lag(
    common_settings: CommonSettings,
) -> None:
    async with service_runtime("stuck", common_settings) as rt:
        runner = rt.add_consumer([DOSSIER_EVENTS], on_withdrawn(store_out_of_reach))
        await rt.start_workers()  # runs the consumer, as a service does
        topic = topic_name(rt.settings.kafka.topic_prefix, DOSSIER_EVENTS)
        for n in range(9):
            await rt.publisher.publish(withdrawn(f"L-{n}"), DOSSIER_EVENTS)

        async def backlog_shown() -> bool:
            return runner.outages > 0 and sum(reported("stuck", topic).values()) == 9

        await eventually(backlog_shown, timeout=30)
        assert await effect_counts(rt.db) == {}  # nothing applied: all of it is lag


async def test_partitions_moved_to_another_instance_leave_its_lag_series(
    common_settings: CommonSettings,
) -> None:
    async with AsyncExitStack() as stack:
        first = await stack.enter_async_context(service_runtime("lag-a", common_settings))
        second = await stack.enter_async_context(service_runtime("lag-b", common_settings))
        handlers = on_withdrawn(store_out_of_reach)
        one = first.add_consumer([DOSSIER_EVENTS], handlers, group_id="lag-shared")
        await first.start_workers()
        topic = topic_name(first.settings.kafka.topic_prefix, DOSSIER_EVENTS)
        for n in range(12):
            await first.publisher.publish(withdrawn(f"M-{n}"), DOSSIER_EVENTS)
        everything = set(range(DOSSIER_EVENTS.partitions))

        async def first_reports_all() -> bool:
            return set(reported("lag-a", topic)) == everything

        await eventually(first_reports_all, timeout=30)

        two = second.add_consumer([DOSSIER_EVENTS], handlers, group_id="lag-shared")
        await second.start_workers()

        async def split_and_reported() -> bool:
            mine = {tp.partition for tp in one.consumer.assignment()}
            theirs = {tp.partition for tp in two.consumer.assignment()}
            a, b = reported("lag-a", topic), reported("lag-b", topic)
            return (
                bool(mine and theirs)
                and set(a) == mine
                and set(b) == theirs
                and sum(a.values()) + sum(b.values()) == 12
            )

        await eventually(split_and_reported, timeout=60)
        assert await effect_counts(first.db) == {} and await effect_counts(second.db) == {}
