"""One unit of work for a run of fetched events: the consumer's batch path.

A run is a sequence of well-formed records of a fetch, each partition's consecutive
and in offset order (so each dossier's events keep their order). Its work is
one transaction: the inbox records go in one insert (if one was there already, the
run is applied again with one inbox query first, and only the fresh events run),
each event's handler runs in order (a handler registered for batches gets its
consecutive events at once) and the facts the handlers emitted go in one outbox
write. If anything fails, nothing of the run is
written and the runner handles its events one by one, so a poison message is
dead-lettered alone and every other event still has its effect exactly once.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TypeAlias

from aiokafka.structs import ConsumerRecord
from opentelemetry import trace

from shared.envelope import Envelope
from shared.events.registry import EventData
from shared.handlers import Handler, HandlerRegistry
from shared.mongo.inbox import AlreadyProcessed, Inbox
from shared.telemetry.messaging import extract_trace_context, messaging_attributes
from shared.unit_of_work import UnitOfWork
from shared.units_of_work import UnitsOfWork

Record: TypeAlias = ConsumerRecord[bytes, bytes]
tracer = trace.get_tracer(__name__)


@dataclass(frozen=True)
class Decoded:
    """A well-formed record: its envelope, its contract and this service's handler."""

    record: Record
    envelope: Envelope
    data: EventData
    handler: Handler | None  # None: a contract this service does not act on


@contextlib.contextmanager
def processing_span(item: Decoded, group: str) -> Iterator[trace.Span]:
    """Messaging conventions: "process <destination>", a CONSUMER span in the producer's trace.

    Its attributes are built only for a span that is recorded (most are not: see
    ``shared.telemetry.tracing.ReceiverSampling``); every span keeps its ids for logs and
    headers.
    """
    record, envelope = item.record, item.envelope
    with tracer.start_as_current_span(
        f"process {record.topic}",
        context=extract_trace_context(record.headers),
        kind=trace.SpanKind.CONSUMER,
    ) as span:
        if span.is_recording():
            span.set_attributes(
                messaging_attributes(
                    operation="process",
                    topic=record.topic,
                    message_id=envelope.id,
                    key=envelope.subject,
                    event_type=envelope.type,
                    partition=record.partition,
                    offset=record.offset,
                    group=group,
                )
            )
        yield span


@dataclass(frozen=True)
class RunApplier:
    """Applies runs of one consumer group's events, each run in one unit of work."""

    group_id: str
    registry: HandlerRegistry
    units: UnitsOfWork
    inbox: Inbox

    async def apply(self, run: list[Decoded]) -> list[str]:
        """Each event's outcome (handled, duplicate, ignored), after one commit.

        Fresh events, the usual case, are claimed in the inbox first (one insert) with
        no query. If one of them was processed already (a redelivery, or an event twice
        on the topic), that insert fails, nothing is written, and the run is applied
        again asking the inbox first. Raises whatever the work raised (nothing of the
        run is then written); the driver retries the whole run on transient conflicts.
        """

        async def claimed_first(uow: UnitOfWork) -> list[str]:
            fresh = [item for item in run if item.handler is not None]
            await self.inbox.claim_all(
                self.group_id, [item.envelope for item in fresh], uow.session, uow.now
            )
            await self._call_handlers(fresh, uow)
            return ["ignored" if item.handler is None else "handled" for item in run]

        async def checked_first(uow: UnitOfWork) -> list[str]:
            outcomes = await self._outcomes_before(run, uow)
            fresh = [item for item, outcome in zip(run, outcomes, strict=True) if not outcome]
            await self._call_handlers(fresh, uow)
            await self.inbox.claim_all(
                self.group_id, [item.envelope for item in fresh], uow.session, uow.now
            )
            return [outcome or "handled" for outcome in outcomes]

        try:
            return await self.units.run(claimed_first)
        except AlreadyProcessed:
            return await self.units.run(checked_first)

    async def _outcomes_before(self, run: list[Decoded], uow: UnitOfWork) -> list[str]:
        """'ignored' or 'duplicate' where the event needs no work, '' where it does."""
        ids = [item.envelope.id for item in run if item.handler is not None]
        seen = await self.inbox.processed_among(self.group_id, ids, uow.session)
        outcomes = []
        for item in run:
            if item.handler is None:
                outcomes.append("ignored")
            elif item.envelope.id in seen:
                outcomes.append("duplicate")  # redelivered, or twice on the topic
            else:
                outcomes.append("")
                seen.add(item.envelope.id)
        return outcomes

    async def _call_handlers(self, fresh: list[Decoded], uow: UnitOfWork) -> None:
        """Each event's handler in order; consecutive events of a batch handler at once."""
        start = 0
        while start < len(fresh):
            batch_handler = self.registry.batch_handler_for(fresh[start].envelope.type)
            end = start + 1
            if batch_handler is None:
                item = fresh[start]
                assert item.handler is not None  # fresh events have one
                with processing_span(item, self.group_id):
                    await item.handler(item.data, uow.caused_by(item.envelope))
            else:
                while end < len(fresh) and (
                    self.registry.batch_handler_for(fresh[end].envelope.type) is batch_handler
                ):
                    end += 1
                with contextlib.ExitStack() as spans:
                    # Each event's own "process" span (in its own trace) covers the run; a
                    # handler may do an event's work in its span (``uow.in_span_of``).
                    for item in fresh[start:end]:
                        span = spans.enter_context(processing_span(item, self.group_id))
                        uow.span_of_event(item.envelope, span)
                    await batch_handler([(i.envelope, i.data) for i in fresh[start:end]], uow)
            start = end
