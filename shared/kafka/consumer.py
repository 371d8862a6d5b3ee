"""The consumer runner: one consumer group per service, effects before offsets.

Each fetched batch is decoded here and handled by ``batch_handling``: in runs of one
unit of work each, the events of a run that fails one by one, malformed records alone.
Offsets are committed only after that (at most once per ``commit_interval_ms``, and
always before a rebalance or a stop), so a crash replays work that the inbox then
deduplicates; a store that cannot do the work pauses the runner instead
(``StoreUnavailable``): what was handled is committed, every partition rewound to its
first unhandled record, and the runner waits with a growing backoff before it fetches
again.

While it runs, ``consumer_lag`` reports each owned partition's lag on its own clock,
whether batches succeed or not: a stuck consumer shows its backlog.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Mapping

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.structs import OffsetAndMetadata

from shared.clock import Clock
from shared.handlers import HandlerRegistry
from shared.kafka.applying import EventApplier, StoreUnavailable
from shared.kafka.batch_handling import BatchHandler, decode_record
from shared.kafka.batching import Decoded, Record, RunApplier
from shared.kafka.consumer_lag import ConsumerLag
from shared.kafka.deadletter import DeadLetterWriter
from shared.kafka.security import client_security
from shared.mongo.inbox import Inbox
from shared.settings import ConsumerSettings, KafkaSettings
from shared.topics import TopicSpec, topic_name
from shared.units_of_work import UnitsOfWork

log = logging.getLogger(__name__)

__all__ = ["ConsumerRunner", "StoreUnavailable"]


class _CommitOnRevoke(ConsumerRebalanceListener):  # type: ignore[misc]
    """Commits what was processed on partitions being taken away, never later."""

    def __init__(self, runner: ConsumerRunner) -> None:
        self._runner = runner

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        async with self._runner.batch_lock:
            await self._runner.commit_processed(set(revoked))
        self._runner.forget_lag(revoked)  # its new owner reports it

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        log.info("partitions assigned", extra={"partitions": [str(tp) for tp in assigned]})


class ConsumerRunner:
    """Consumes a service's topics and applies each event exactly once in effect."""

    def __init__(
        self,
        *,
        service: str,
        group_id: str,
        topics: list[TopicSpec],
        registry: HandlerRegistry,
        units: UnitsOfWork,
        inbox: Inbox,
        dead_letters: DeadLetterWriter,
        kafka: KafkaSettings,
        settings: ConsumerSettings,
        clock: Clock,
        after_batch: Callable[[], None] | None = None,
    ) -> None:
        self.service = service
        self.group_id = group_id
        self._topics = [topic_name(kafka.topic_prefix, spec) for spec in topics]
        self._inbox = inbox
        self._runs = RunApplier(group_id, registry, units, inbox)
        self._events = EventApplier(
            service=service,
            group_id=group_id,
            registry=registry,
            units=units,
            inbox=inbox,
            dead_letters=dead_letters,
            settings=settings,
            special_topics={
                topic_name(kafka.topic_prefix, spec): spec for spec in registry.special_topics
            },
        )
        self._batches = BatchHandler(
            group_id=group_id,
            registry=registry,
            units=units,
            runs=self._runs,
            events=self._events,
            assignment=lambda: self.consumer.assignment(),
            mark_processed=self._mark_processed,
        )
        self._lag = ConsumerLag(
            service=service,
            group_id=group_id,
            consumer=lambda: self.consumer,
            first_unhandled=self._first_unhandled,
        )
        self._kafka = kafka
        self._settings = settings
        self._clock = clock
        self._after_batch = after_batch
        self._consumer: AIOKafkaConsumer | None = None
        self._processed: dict[TopicPartition, int] = {}
        self._uncommitted = 0
        self._committed_at = 0.0  # monotonic time of the last offset commit
        self._in_hand: dict[TopicPartition, int] = {}  # first offset of the batch in hand
        self.outages = 0  # batches that could not be finished (for health and tests)
        self._stopping = asyncio.Event()
        self.batch_lock = asyncio.Lock()

    async def start(self) -> None:
        """Join the group (idempotent)."""
        if self._consumer is not None:
            return
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self._kafka.bootstrap_servers,
            client_id=f"{self._kafka.client_id}-{self.service}",
            group_id=self.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            max_poll_records=self._settings.max_poll_records,
            fetch_min_bytes=self._settings.fetch_min_bytes,
            fetch_max_wait_ms=self._settings.fetch_max_wait_ms,
            session_timeout_ms=self._settings.session_timeout_ms,
            heartbeat_interval_ms=max(self._settings.session_timeout_ms // 4, 100),
            request_timeout_ms=self._kafka.request_timeout_ms + 5000,
            **client_security(self._kafka),
        )
        await self._consumer.start()
        self._consumer.subscribe(self._topics, listener=_CommitOnRevoke(self))

    @property
    def consumer(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            raise RuntimeError("consumer runner not started")
        return self._consumer

    async def process_batch(self, timeout_ms: int = 1000) -> int:
        """Fetch, handle and commit one batch; returns how many records it handled.

        If the batch cannot be finished (the store or the broker is unavailable), what
        was handled is committed, every partition is rewound to its first unhandled
        record, and the error is raised: nothing is skipped, nothing dead-lettered.
        """
        batch = await self.consumer.getmany(
            timeout_ms=timeout_ms, max_records=self._settings.max_poll_records
        )
        self._in_hand = {tp: records[0].offset for tp, records in batch.items() if records}
        async with self.batch_lock:
            try:
                decoded = {tp: [(r, self.decode(r)) for r in rs] for tp, rs in batch.items()}
                handled = await self._batches.handle(decoded)
            except BaseException:
                self._rewind(batch)
                await self.commit_processed(None)
                raise
            finally:
                self._in_hand = {}
            await self._commit_when_due()
        if handled and self._after_batch is not None:
            self._after_batch()  # the batch's effects are stored
        return handled

    async def _commit_when_due(self) -> None:
        """Commit offsets at most once per commit interval: each commit is a write to the
        broker's offsets log, and the inbox makes a replay after a crash harmless."""
        interval = self._settings.commit_interval_ms / 1000
        if time.monotonic() - self._committed_at >= interval:
            await self.commit_processed(None)

    def decode(self, record: Record) -> Decoded | None:
        """The record as an event of a known contract, or None (it goes the slow way).

        Every fetched record passes here once per delivery, in order."""
        return decode_record(record, self._events)

    def _mark_processed(self, record: Record) -> None:
        self._processed[TopicPartition(record.topic, record.partition)] = record.offset + 1
        self._uncommitted += 1

    def _rewind(self, batch: Mapping[TopicPartition, list[Record]]) -> None:
        """Fetch again, next time, every record of the batch that was not handled."""
        for tp, records in batch.items():
            if records and tp in self.consumer.assignment():
                self.consumer.seek(tp, self._processed.get(tp, records[0].offset))

    async def run(self) -> None:
        """Consume until ``stop``; an outage pauses consumption, it never ends it.

        The lag is reported alongside, on its own clock, paused or not."""
        reporting = asyncio.create_task(
            self._lag.report_until(self._stopping), name=f"{self.name}-lag"
        )
        try:
            await self._consume()
        finally:
            reporting.cancel()
            await asyncio.gather(reporting, return_exceptions=True)

    async def _consume(self) -> None:
        pause = self._settings.backoff_initial_s
        while not self._stopping.is_set():
            try:
                await self.process_batch()
                pause = self._settings.backoff_initial_s
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # store or broker unavailable: wait, then go on
                self.outages += 1
                log.warning(
                    "consumer paused: dependency unavailable",
                    extra={"group": self.group_id, "error": repr(exc), "retry_in_s": pause},
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), timeout=pause)
                pause = min(pause * 2, self._settings.backoff_max_s)

    @property
    def uncommitted(self) -> int:
        """Records handled since the last commit."""
        return self._uncommitted

    @property
    def name(self) -> str:
        return f"consumer-{self.group_id}"

    def stop(self) -> None:
        """Ask ``run`` to return after the batch in hand."""
        self._stopping.set()

    async def close(self) -> None:
        """Commit what was processed and leave the group."""
        self._stopping.set()
        if self._consumer is not None:
            async with self.batch_lock:
                await self.commit_processed(None)
            self.forget_lag(self._consumer.assignment())
            await self._consumer.stop()
            self._consumer = None

    async def commit_processed(self, only: set[TopicPartition] | None) -> None:
        """Commit offsets of records whose effects are stored.

        ``only`` names the partitions being revoked (from the rebalance listener, which
        commits them while they are still ours). Otherwise only partitions still
        assigned are committed: a partition that moved to another member is never
        committed to afterwards, its new owner's position rules.
        """
        owned = only if only is not None else self.consumer.assignment()
        offsets = {
            tp: OffsetAndMetadata(offset, "")
            for tp, offset in self._processed.items()
            if tp in owned
        }
        for tp in [tp for tp in self._processed if tp not in owned and only is None]:
            del self._processed[tp]  # moved away uncommitted: its records will be redelivered
        if not offsets:
            return
        await self.consumer.commit(offsets)
        for tp in offsets:
            self._processed.pop(tp, None)
        if not self._processed:
            self._uncommitted = 0
        self._committed_at = time.monotonic()

    async def handle_record(self, record: Record) -> None:
        """Apply one record in a unit of work of its own, or dead-letter it."""
        await self._events.handle_record(record)

    async def report_lag(self) -> None:
        """Set each assigned partition's lag now (``ConsumerLag.report``)."""
        await self._lag.report()

    def forget_lag(self, partitions: Iterable[TopicPartition]) -> None:
        """Drop the lag series of partitions this instance no longer owns."""
        self._lag.forget(partitions)

    async def _first_unhandled(self, tp: TopicPartition) -> int:
        """The offset of the partition's first record whose effect is not stored yet:
        past the last handled one, else the start of the batch in hand, else the
        consumer's position (after a failed batch it was rewound there)."""
        if tp in self._processed:
            return self._processed[tp]
        if tp in self._in_hand:
            return self._in_hand[tp]
        return int(await self.consumer.position(tp))
