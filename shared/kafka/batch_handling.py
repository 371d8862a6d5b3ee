"""A fetched batch, handled: decoded, cut into runs, each run applied whole or one by one.

The well-formed records of a fetched batch form a run, each partition's in offset
order (the partitions merged by the records' timestamps), applied in one unit of work
(``batching``: the inbox records, the handlers and the emitted facts written in bulk,
one commit per fetch). A partition's records after a malformed one are handled after
it, in runs of their own. If a run fails, its events are handled one by one
(``applying``: each in a unit of work of its own, retried with backoff, dead-lettered
after the last attempt), so a poison message goes to the dead letters alone and the
others keep their order. Malformed records go the one-by-one way at once. A store that
cannot do the work raises ``StoreUnavailable``: the whole run waits.
"""

from __future__ import annotations

import dataclasses
import heapq
import logging
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass

from aiokafka import TopicPartition
from pymongo.errors import PyMongoError

from shared.envelope import Envelope, MalformedMessage
from shared.error_text import redacted_error_text
from shared.events.registry import parse_data
from shared.handlers import HandlerRegistry
from shared.kafka.applying import EventApplier, StoreUnavailable
from shared.kafka.batching import Decoded, Record, RunApplier
from shared.mongo.errors import outlasted_its_deadline, store_unavailable
from shared.units_of_work import UnitsOfWork

log = logging.getLogger(__name__)
STORE_PING_S = 2.0  # how long a store that answers takes at most to answer a ping


@dataclass
class BatchHandler:
    """Handles the batches one consumer group member fetches, records in order."""

    group_id: str
    registry: HandlerRegistry
    units: UnitsOfWork
    runs: RunApplier
    events: EventApplier
    assignment: Callable[[], Collection[TopicPartition]]  # the partitions still ours
    mark_processed: Callable[[Record], None]  # the record's effect is stored

    async def handle(
        self, decoded: Mapping[TopicPartition, list[tuple[Record, Decoded | None]]]
    ) -> int:
        """Handle a fetched batch, each record with its decoding (None: malformed);
        returns how many records it handled."""
        # Every partition's leading run in one unit of work: one commit per fetch.
        leading = {tp: _leading_run(pairs) for tp, pairs in decoded.items()}
        handled = await self._handle_run(in_time_order(leading.values()))
        for tp, pairs in decoded.items():
            handled += await self._handle_rest(tp, pairs[len(leading[tp]) :])
        return handled

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
            if tp not in self.assignment():
                return handled
            await self.events.handle_record(record)  # malformed or breaking its contract
            self.mark_processed(record)
            handled += 1
        return handled + await self._handle_run(run)

    async def _handle_run(self, run: list[Decoded]) -> int:
        """A run in one unit of work; if that fails, its events one by one, in order.

        A run holds each partition's records in offset order (possibly of several
        partitions); a rebalance during the batch may have taken some away.
        """
        assigned = self.assignment()
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
                self.events.count_run(run, outcomes, seconds)
                for item in run:
                    self.mark_processed(item.record)
                return len(run)
        handled, ignored = 0, []
        try:
            for item in run:
                if _partition(item.record) not in self.assignment():
                    continue
                if item.handler is None:  # nothing to do: counted with the others below
                    ignored.append(item)
                else:
                    await self.events.handle_decoded(item)
                self.mark_processed(item.record)
                handled += 1
        finally:
            self.events.count_outcomes(ignored, ["ignored"] * len(ignored))
        return handled

    def _shown(self, error: Exception, run: list[Decoded]) -> str:
        """A run's error as logged: without the values it may quote when one of the run's
        topics may carry personal data (as dead letters keep it)."""
        if any(self.events.dead_letters.redacts(item.record.topic) for item in run):
            return redacted_error_text(error)
        return repr(error)

    async def _outlasted_on_a_store_that_answers(self, error: BaseException | None) -> bool:
        """Whether the run took longer than its transaction may, the store answering:
        not if the error says the store was out of reach, nor if the store does not
        answer a ping now (a reply that never came: a hung store, not a long run)."""
        return outlasted_its_deadline(error) and await self.units.store_answers(STORE_PING_S)

    async def _screened(self, run: list[Decoded]) -> list[Decoded]:
        """The run with the events the registry's screen passes over made ignored."""
        screen = self.registry.screen
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
            return await self.runs.apply(run)
        except PyMongoError as exc:
            if store_unavailable(exc):  # the store's state, not the messages' fault
                raise StoreUnavailable(repr(exc)) from exc
            raise


def decode_record(record: Record, events: EventApplier) -> Decoded | None:
    """The record as an event of a known contract, or None (it goes the slow way)."""
    try:
        envelope = Envelope.from_bytes(record.value)
        data = parse_data(envelope)
    except MalformedMessage:
        return None
    handler = events.handler_for(record, envelope.type)
    if handler is None and events.answers_invalid(record):
        return None  # a type its topic does not take: answered the slow way
    return Decoded(record, envelope, data, handler)


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
