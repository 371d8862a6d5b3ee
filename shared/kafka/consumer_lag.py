"""Consumer lag: how many records wait behind each partition a group member owns.

While the runner runs, the lag gauges are set every ``LAG_REPORT_S`` from the broker's
end offsets and the first record not yet handled, whether batches succeed or not: a
stuck consumer shows its backlog. A partition that moves away takes its series with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable

from aiokafka import AIOKafkaConsumer, TopicPartition

from shared.telemetry.metrics import CONSUMER_LAG

log = logging.getLogger(__name__)
LAG_REPORT_S = 1.0  # the lag gauges are refreshed this often while the runner runs


class ConsumerLag:
    """The lag gauges of the partitions one consumer group member owns."""

    def __init__(
        self,
        *,
        service: str,
        group_id: str,
        consumer: Callable[[], AIOKafkaConsumer],
        first_unhandled: Callable[[TopicPartition], Awaitable[int]],
    ) -> None:
        self._service = service
        self._group_id = group_id
        self._consumer = consumer
        self._first_unhandled = first_unhandled

    async def report(self) -> None:
        """Set each assigned partition's lag: the broker's end offset (the last stable one:
        the consumer reads committed records only) less the first record not yet handled.

        Asks the broker, not the last fetch, and does not wait for a batch: a consumer
        paused by an outage or stuck in a long batch shows what waits behind it.
        """
        assigned = self._consumer().assignment()
        if not assigned:
            return
        ends = await self._consumer().end_offsets(list(assigned))
        for tp, end in ends.items():
            unhandled = await self._first_unhandled(tp)
            if tp in self._consumer().assignment():  # not revoked meanwhile
                CONSUMER_LAG.labels(self._service, tp.topic, str(tp.partition)).set(
                    max(end - unhandled, 0)
                )

    def forget(self, partitions: Iterable[TopicPartition]) -> None:
        """Drop the lag series of partitions this instance no longer owns."""
        for tp in partitions:
            with contextlib.suppress(KeyError):
                CONSUMER_LAG.remove(self._service, tp.topic, str(tp.partition))

    async def report_until(self, stopping: asyncio.Event) -> None:
        """Report every ``LAG_REPORT_S`` until ``stopping`` is set."""
        while not stopping.is_set():
            try:
                await asyncio.wait_for(self.report(), timeout=LAG_REPORT_S * 5)
            except Exception as exc:  # the broker away: the gauges keep their last values
                log.debug("lag not reported", extra={"group": self._group_id, "error": repr(exc)})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), timeout=LAG_REPORT_S)
