"""The consumer runner: one consumer group per service, effects before offsets.

The well-formed records of a fetched batch form a run, each partition's in offset
order (the partitions merged by the records' timestamps), applied in one unit of work
(``batching``: the inbox records, the handlers and the emitted facts written in bulk,
one commit per fetch). A partition's records after a malformed one are handled after
it, in runs of their own. If a run fails, its events are handled one by one
(``applying``: each in a unit of work of its own, retried with backoff, dead-lettered
after the last attempt), so a poison message goes to the dead letters alone and the
others keep their order. Malformed records go the one-by-one way at once. Offsets are
committed only after that (at most once per ``commit_interval_ms``, and always before
a rebalance or a stop), so a crash replays work that the inbox then deduplicates; a
store that cannot do the work pauses the runner instead (``StoreUnavailable``).

While it runs, the lag gauges are set every ``LAG_REPORT_S`` from the broker's end
offsets and the first record not yet handled, whether batches succeed or not: a stuck
consumer shows its backlog. A partition that moves away takes its series with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import heapq
import logging
import time
from collections.abc import Callable, Iterable, Mapping

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.structs import OffsetAndMetadata
from pymongo.errors import ConnectionFailure, NetworkTimeout, PyMongoError, WTimeoutError

from shared.clock import Clock
from shared.envelope import Envelope, MalformedMessage
from shared.error_text import redacted_error_text
from shared.events.registry import parse_data
from shared.handlers import HandlerRegistry
from shared.kafka.applying import EventApplier, StoreUnavailable
from shared.kafka.batching import Decoded, Record, RunApplier
from shared.kafka.deadletter import DeadLetterWriter
from shared.kafka.security import client_security
from shared.mongo.errors import store_unavailable
from shared.mongo.inbox import Inbox
from shared.settings import ConsumerSettings, KafkaSettings
from shared.telemetry import CONSUMER_LAG
from shared.topics import TopicSpec, topic_name
from shared.unit_of_work import UnitsOfWork

log = logging.getLogger(__name__)
LAG_REPORT_S = 1.0  # the lag gauges are refreshed this often while the runner runs
STORE_PING_S = 2.0  # how long a store that answers takes at most to answer a ping

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
        self._registry = registry
        self._units = units
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
        handled = 0
        self._in_hand = {tp: records[0].offset for tp, records in batch.items() if records}
        async with self.batch_lock:
            try:
                decoded = {tp: [(r, self.decode(r)) for r in rs] for tp, rs in batch.items()}
                # Every partition's leading run in one unit of work: one commit per fetch.
                leading = {tp: _leading_run(pairs) for tp, pairs in decoded.items()}
                handled += await self._handle_run(in_time_order(leading.values()))
                for tp, pairs in decoded.items():
                    handled += await self._handle_rest(tp, pairs[len(leading[tp]) :])
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

    async def _handle_rest(
        self, tp: TopicPartition, pairs: list[tuple[Record, Decoded | None]]
    ) -> int:
        """A partition's records after a malformed one: runs of well-formed ones, in order."""
        handled = 0
        run: list[Decoded] = []
        for record, decoded in pairs:
            if decoded is not None:
                run.append(decoded)
                continue
            handled += await self._handle_run(run)
            run = []
            if tp not in self.consumer.assignment():
                return handled
            await self.handle_record(record)  # malformed or breaking its contract
            self._mark_processed(record)
            handled += 1
        return handled + await self._handle_run(run)

    def decode(self, record: Record) -> Decoded | None:
        """The record as an event of a known contract, or None (it goes the slow way).

        Every fetched record passes here once per delivery, in order.
        """
        try:
            envelope = Envelope.from_bytes(record.value)
            data = parse_data(envelope)
        except MalformedMessage:
            return None
        handler = self._events.handler_for(record, envelope.type)
        if handler is None and self._events.answers_invalid(record):
            return None  # a type its topic does not take: answered the slow way
        return Decoded(record, envelope, data, handler)

    async def _handle_run(self, run: list[Decoded]) -> int:
        """A run in one unit of work; if that fails, its events one by one, in order.

        A run holds each partition's records in offset order (possibly of several
        partitions); a rebalance during the batch may have taken some away.
        """
        assigned = self.consumer.assignment()
        run = await self._screened([item for item in run if _partition(item.record) in assigned])
        if sum(1 for item in run if item.handler is not None) > 1:
            started = time.perf_counter()
            try:
                outcomes = await self._apply_run(run)
            except StoreUnavailable as exc:
                if not await self._outlasted_on_a_store_that_answers(exc.__cause__):
                    raise  # the store's state: the whole run waits
                # A run too long for one transaction would time out at every retry:
                # its events go one by one, each in a transaction of its own.
                log.warning(
                    "batch outlasted the transaction timeout; handling its events one by one",
                    extra={"group": self.group_id, "events": len(run)},
                )
            except Exception as exc:  # one event's fault, or a race: isolate it
                log.info(
                    "batch failed; handling its events one by one",
                    extra={
                        "group": self.group_id,
                        "events": len(run),
                        "error": self._shown(exc, run),
                    },
                )
            else:
                seconds = (time.perf_counter() - started) / len(run)
                self._events.count_run(run, outcomes, seconds)
                for item in run:
                    self._mark_processed(item.record)
                return len(run)
        handled, ignored = 0, []
        try:
            for item in run:
                if _partition(item.record) not in self.consumer.assignment():
                    continue
                if item.handler is None:  # nothing to do: counted with the others below
                    ignored.append(item)
                else:
                    await self._events.handle_decoded(item)
                self._mark_processed(item.record)
                handled += 1
        finally:
            self._events.count_outcomes(ignored, ["ignored"] * len(ignored))
        return handled

    def _shown(self, error: Exception, run: list[Decoded]) -> str:
        """A run's error as logged: without the values it may quote when one of the run's
        topics may carry personal data (as dead letters keep it)."""
        if any(self._events.dead_letters.redacts(item.record.topic) for item in run):
            return redacted_error_text(error)
        return repr(error)

    async def _outlasted_on_a_store_that_answers(self, error: BaseException | None) -> bool:
        """Whether the run took longer than its transaction may, the store answering:
        not if the error says the store was out of reach, nor if the store does not
        answer a ping now (a reply that never came: a hung store, not a long run)."""
        return outlasted_its_deadline(error) and await self._units.store_answers(STORE_PING_S)

    async def _screened(self, run: list[Decoded]) -> list[Decoded]:
        """The run with the events the registry's screen passes over made ignored."""
        screen = self._registry.screen
        candidates = [item for item in run if item.handler is not None]
        if screen is None or not candidates:
            return run
        try:
            wanted = await screen([(item.envelope, item.data) for item in candidates])
        except Exception as exc:
            if isinstance(exc, PyMongoError) and store_unavailable(exc):
                raise StoreUnavailable(repr(exc)) from exc  # the whole run waits
            # A screen's own fault must not drop events: handle them all.
            shown = self._shown(exc, candidates)
            log.warning("screen failed; handling every event", extra={"error": shown})
            return run
        passed = {id(item) for item, want in zip(candidates, wanted, strict=True) if not want}
        return [dataclasses.replace(i, handler=None) if id(i) in passed else i for i in run]

    async def _apply_run(self, run: list[Decoded]) -> list[str]:
        try:
            return await self._runs.apply(run)
        except PyMongoError as exc:
            if store_unavailable(exc):  # the store's state, not the messages' fault
                raise StoreUnavailable(repr(exc)) from exc
            raise

    def _mark_processed(self, record: Record) -> None:
        self._processed[_partition(record)] = record.offset + 1
        self._uncommitted += 1

    def _rewind(self, batch: Mapping[TopicPartition, list[Record]]) -> None:
        """Fetch again, next time, every record of the batch that was not handled."""
        for tp, records in batch.items():
            if records and tp in self.consumer.assignment():
                self.consumer.seek(tp, self._processed.get(tp, records[0].offset))

    async def run(self) -> None:
        """Consume until ``stop``; an outage pauses consumption, it never ends it.

        The lag is reported alongside, on its own clock, paused or not."""
        reporting = asyncio.create_task(self._report_lag_until_stopped(), name=f"{self.name}-lag")
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
        """Set each assigned partition's lag: the broker's end offset (the last stable one:
        the consumer reads committed records only) less the first record not yet handled.

        Asks the broker, not the last fetch, and does not wait for a batch: a consumer
        paused by an outage or stuck in a long batch shows what waits behind it.
        """
        assigned = self.consumer.assignment()
        if not assigned:
            return
        ends = await self.consumer.end_offsets(list(assigned))
        for tp, end in ends.items():
            unhandled = await self._first_unhandled(tp)
            if tp in self.consumer.assignment():  # not revoked meanwhile
                CONSUMER_LAG.labels(self.service, tp.topic, str(tp.partition)).set(
                    max(end - unhandled, 0)
                )

    async def _first_unhandled(self, tp: TopicPartition) -> int:
        """The offset of the partition's first record whose effect is not stored yet:
        past the last handled one, else the start of the batch in hand, else the
        consumer's position (after a failed batch it was rewound there)."""
        if tp in self._processed:
            return self._processed[tp]
        if tp in self._in_hand:
            return self._in_hand[tp]
        return int(await self.consumer.position(tp))

    def forget_lag(self, partitions: Iterable[TopicPartition]) -> None:
        """Drop the lag series of partitions this instance no longer owns."""
        for tp in partitions:
            with contextlib.suppress(KeyError):
                CONSUMER_LAG.remove(self.service, tp.topic, str(tp.partition))

    async def _report_lag_until_stopped(self) -> None:
        while not self._stopping.is_set():
            try:
                await asyncio.wait_for(self.report_lag(), timeout=LAG_REPORT_S * 5)
            except Exception as exc:  # the broker away: the gauges keep their last values
                log.debug("lag not reported", extra={"group": self.group_id, "error": repr(exc)})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=LAG_REPORT_S)


def _partition(record: Record) -> TopicPartition:
    return TopicPartition(record.topic, record.partition)


def in_time_order(runs: Iterable[list[Decoded]]) -> list[Decoded]:
    """Several partitions' runs as one, each partition's in offset order, merged by the
    records' timestamps: a dossier's facts on different topics (its hand-over, then the
    notification about it) are applied in the order they were written, not partition by
    partition."""
    return list(heapq.merge(*runs, key=lambda item: item.record.timestamp))


def _leading_run(pairs: list[tuple[Record, Decoded | None]]) -> list[Decoded]:
    """The well-formed records before the partition's first malformed one."""
    run = []
    for _, decoded in pairs:
        if decoded is None:
            break
        run.append(decoded)
    return run


def outlasted_its_deadline(error: BaseException | None) -> bool:
    """Whether a store error may be work that took longer than its deadline, rather than
    the store being out of reach or its replicas behind (a write-concern timeout).

    Both surface as a client-side timeout: when the deadline passes while the driver
    retries a transaction whose store is out of reach, it raises an ``ExecutionTimeout``
    carrying the connection failure's message, caused by that failure (no server to
    select, connection refused or reset). So the causes are read: a connection failure
    among them means out of reach. A ``NetworkTimeout`` (a reply that did not come in
    time) is left open: a long run or a hung store, which the caller tells apart by
    asking the store.
    """
    if not (isinstance(error, PyMongoError) and error.timeout):
        return False
    for cause in _causes(error):
        if isinstance(cause, WTimeoutError):
            return False
        if isinstance(cause, ConnectionFailure) and not isinstance(cause, NetworkTimeout):
            return False
    return True


def _causes(error: BaseException) -> list[BaseException]:
    """The error and the chain of errors it was raised from or while handling."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain
