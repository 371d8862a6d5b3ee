"""The unit of work: the one write path of every service.

A unit of work owns one store transaction (bounded by the transaction timeout), the
facts emitted in it (queued in the outbox in that transaction, correlated with their
cause) and their hand-over to the relay after the commit. HTTP actions, consumers, schedulers and
checkpoints all write through it::

    async with runtime.unit_of_work(cause=envelope) as uow:
        dossier = await store.get(code, uow.session)
        ...
        uow.emit(*decision.facts)
    # committed here; the entries it wrote are handed to the relay once

``UnitsOfWork.open`` is one attempt: an error aborts it, nothing is written. ``run``
runs a piece of work in a unit of work and retries it, as the driver does, when the
store reports a transient conflict (two writers on one document); the work must then
be safe to run again, which it is when it only reads and writes through ``uow``.

A consumer may share one unit of work among a batch of events: ``caused_by`` gives a
view with the same transaction and pending facts but another cause, so each event's
facts carry their own causation and correlation.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import AbstractContextManager, asynccontextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

import pymongo
from opentelemetry import trace
from opentelemetry.trace import Span
from pymongo.errors import PyMongoError
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern

from shared.clock import Clock
from shared.envelope import Envelope
from shared.events.registry import EventData, make_envelope
from shared.group_commit import GroupCommit, Job, run_in_context
from shared.mongo.client import (
    DEFAULT_TRANSACTION_TIMEOUT_S,
    Client,
    Session,
    run_in_transaction,
)
from shared.mongo.outbox import Outbox
from shared.mongo.outbox_entry import OutboxEntry, PendingEvent
from shared.telemetry.messaging import inject_trace_headers
from shared.telemetry.metrics import GROUPED_WRITES

T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass
class _Pending:
    """Facts emitted in one transaction, shared by every view of the unit of work."""

    events: list[PendingEvent] = field(default_factory=list)
    numbers: dict[str, list[int]] = field(default_factory=dict)  # reserved outbox seqs
    spans: dict[str, Span] = field(default_factory=dict)  # a batch's events' spans, by id
    written: list[OutboxEntry] = field(default_factory=list)  # by the flush, for the relay
    after_commit: list[Callable[[], None]] = field(default_factory=list)  # once committed


class UnitOfWork:
    """One transaction's session, its cause, its clock reading and the facts it emits."""

    def __init__(
        self,
        session: Session,
        *,
        source: str,
        now: datetime,
        cause: Envelope | None = None,
        correlation_id: str | None = None,
        pending: _Pending | None = None,
    ) -> None:
        self.session = session
        self.source = source
        self.now = now
        self.cause = cause
        self.correlation_id = correlation_id
        self._pending = pending if pending is not None else _Pending()

    def caused_by(self, cause: Envelope) -> UnitOfWork:
        """The same transaction on behalf of another event (one event of a batch)."""
        return UnitOfWork(
            self.session, source=self.source, now=self.now, cause=cause, pending=self._pending
        )

    def span_of_event(self, event: Envelope, span: Span) -> None:
        """The span an event of a batch is processed in (the consumer sets it)."""
        self._pending.spans[event.id] = span

    def in_span_of(self, event: Envelope) -> AbstractContextManager[object]:
        """Make the span ``event`` is processed in current: a batch handler doing one
        event's work in it traces that work, and the facts it emits, in that event's trace
        (alone, an event's span is current already)."""
        span = self._pending.spans.get(event.id)
        return nullcontext() if span is None else trace.use_span(span, end_on_exit=False)

    @property
    def envelope(self) -> Envelope:
        """The event being handled (for handlers, which always run with a cause)."""
        if self.cause is None:
            raise RuntimeError("this unit of work has no cause")
        return self.cause

    def emit(
        self,
        *facts: EventData,
        correlation_id: str | None = None,
        event_id: str | None = None,
        audience: Iterable[str] = (),
    ) -> list[Envelope]:
        """Queue facts for the outbox, in order; written with the transaction's commit.

        Each fact is caused by the unit's cause and shares the given correlation id,
        else the unit's, else its cause's. ``event_id`` (one fact only) makes the id
        deterministic, so a repeated attempt yields the same event. ``audience``: the
        units whose agency feed (``dossier.events.<unit>``) the relay also publishes
        these facts to (the emitting service's rule, docs/design.md "Agency feeds").
        """
        if event_id is not None and len(facts) != 1:
            raise ValueError("an explicit event id names exactly one fact")
        # The trace is captured now, so each event joins the span that caused it.
        headers = [(k, v.decode()) for k, v in inject_trace_headers([])]
        envelopes = [
            make_envelope(
                fact,
                source=self.source,
                cause=self.cause,
                correlationid=correlation_id or self.correlation_id,
                time=self.now,
                event_id=event_id,
            )
            for fact in facts
        ]
        units = tuple(dict.fromkeys(audience))
        self._pending.events.extend(PendingEvent(e, headers, units) for e in envelopes)
        return envelopes

    def forward(self, event: Envelope, audience: Iterable[str]) -> None:
        """Queue copies of an event as it travelled (another service's, say) for these
        units' agency feeds only, not for its topic again: for units its emitter could
        not know to name (routing tells the holder of a withdrawal that intake asked for
        from a view a hand-over behind). Numbered in its subject's sequence like a fact."""
        units = tuple(dict.fromkeys(audience))
        if units:
            headers = [(k, v.decode()) for k, v in inject_trace_headers([])]
            self._pending.events.append(PendingEvent(event, headers, units, copies_only=True))

    def numbered(self, subject: str, numbers: range) -> None:
        """The writer reserved these outbox sequence numbers of ``subject`` in this
        transaction (with a write of its own document) for the subject's facts it emits
        here, in order: the outbox then takes them instead of reserving its own."""
        self._pending.numbers.setdefault(subject, []).extend(numbers)

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once this transaction has committed; never if it does not (an
        attempt retried by ``run`` is a transaction of its own, with its own callbacks).
        For what only a committed write makes true, e.g. handing its records on."""
        self._pending.after_commit.append(callback)

    def committed(self) -> None:
        """Run the after-commit callbacks: the units of work call it once the transaction
        committed (tests driving handlers with a detached unit call it themselves)."""
        for callback in self._pending.after_commit:
            try:
                callback()
            except Exception:  # the transaction stands: its callback's fault is only logged
                log.exception("after-commit callback failed")

    @property
    def pending_events(self) -> list[PendingEvent]:
        """The facts of this transaction with their trace headers, for the outbox."""
        return self._pending.events

    @property
    def emitted(self) -> list[Envelope]:
        """Every fact emitted in this transaction so far, by any of its views."""
        return [pending.envelope for pending in self._pending.events]

    @property
    def reserved_numbers(self) -> dict[str, list[int]]:
        """The outbox sequence numbers reserved in this transaction, per subject."""
        return self._pending.numbers

    async def _flush(self, outbox: Outbox) -> None:
        pending = self._pending
        pending.written = await outbox.add_all(
            pending.events, self.session, self.now, pending.numbers
        )


class UnitsOfWork:
    """Opens units of work for one service: its store client, outbox and relay hand-over."""

    def __init__(
        self,
        *,
        client: Client,
        outbox: Outbox,
        clock: Clock,
        service: str,
        on_commit: Callable[[list[OutboxEntry]], None],
        timeout_s: float = DEFAULT_TRANSACTION_TIMEOUT_S,
        group_transactions: int = 4,
        group_size: int = 16,
    ) -> None:
        self._client = client
        self._outbox = outbox
        self._clock = clock
        self._service = service
        self._source = f"/lienthong/{service}"
        self._on_commit = on_commit
        self.timeout_s = timeout_s
        self._groups = GroupCommit[UnitOfWork](
            alone=self._run_alone,
            together=self._run_together,
            max_transactions=group_transactions,
            max_group=group_size,
        )

    async def store_answers(self, timeout_s: float) -> bool:
        """Whether the store answers a ping within ``timeout_s`` (server selection
        included): tells a store out of reach or hung from work that took too long."""
        try:
            with pymongo.timeout(timeout_s):
                await self._client.admin.command("ping")
        except PyMongoError:
            return False
        return True

    @asynccontextmanager
    async def open(
        self,
        cause: Envelope | None = None,
        *,
        correlation_id: str | None = None,
        now: datetime | None = None,
    ) -> AsyncIterator[UnitOfWork]:
        """One transaction: committed with its facts when the block ends, else aborted."""
        with pymongo.timeout(self.timeout_s):
            async with self._client.start_session() as session:
                uow = self._unit(session, cause=cause, correlation_id=correlation_id, now=now)
                async with await session.start_transaction(
                    read_concern=ReadConcern("snapshot"), write_concern=WriteConcern("majority")
                ):
                    yield uow
                    await uow._flush(self._outbox)
        self._after_commit(uow)

    async def run(
        self,
        work: Callable[[UnitOfWork], Awaitable[T]],
        cause: Envelope | None = None,
        *,
        correlation_id: str | None = None,
        now: datetime | None = None,
        grouped: bool = False,
    ) -> T:
        """Run ``work`` in a unit of work, retried on transient conflicts; its result.

        ``grouped`` lets it share a transaction with other grouped work when the store
        is busy (group commit, see ``shared.group_commit``): for HTTP actions, whose
        work only reads and writes through ``uow``.
        """
        with pymongo.timeout(self.timeout_s):
            unit = partial(self._unit, cause=cause, correlation_id=correlation_id, now=now)
            job = Job(work, unit, contextvars.copy_context())  # the deadline above included
            return await (self._groups.run(job) if grouped else self._run_alone(job))

    @property
    def waiting(self) -> int:
        """Grouped pieces of work waiting for a transaction (group commit)."""
        return self._groups.waiting

    async def _run_alone(self, job: Job[UnitOfWork, T]) -> T:
        """One piece of work in its own transaction."""
        attempt: UnitOfWork | None = None

        async def in_transaction(session: Session) -> T:
            nonlocal attempt
            attempt = job.make_unit(session)  # fresh each retry
            result = await job.work(attempt)
            await attempt._flush(self._outbox)
            return result

        result = await run_in_transaction(self._client, in_transaction, self.timeout_s)
        assert attempt is not None
        self._after_commit(attempt)
        return result

    async def _run_together(self, jobs: list[Job[UnitOfWork, Any]]) -> list[Any]:
        """Several pieces of work in turn in one transaction: one outbox insert, one commit."""
        attempts: list[UnitOfWork] = []
        written: list[OutboxEntry] = []

        async def in_transaction(session: Session) -> list[Any]:
            attempts.clear()  # fresh each retry
            written.clear()
            results = []
            for job in jobs:
                attempts.append(job.make_unit(session))
                results.append(await run_in_context(job, attempts[-1]))
            events = [event for attempt in attempts for event in attempt.pending_events]
            numbers: dict[str, list[int]] = {}
            for attempt in attempts:  # in the order their facts were emitted
                for subject, reserved in attempt.reserved_numbers.items():
                    numbers.setdefault(subject, []).extend(reserved)
            now = self._clock.now()
            written.extend(await self._outbox.add_all(events, session, now, numbers))
            return results

        results = await run_in_transaction(self._client, in_transaction, self.timeout_s)
        GROUPED_WRITES.labels(self._service).observe(len(jobs))
        if written:
            self._on_commit(written)
        for attempt in attempts:
            attempt.committed()
        return results

    def _unit(
        self,
        session: Session,
        *,
        cause: Envelope | None,
        correlation_id: str | None,
        now: datetime | None,
    ) -> UnitOfWork:
        return UnitOfWork(
            session,
            source=self._source,
            now=now or self._clock.now(),
            cause=cause,
            correlation_id=correlation_id,
        )

    def _after_commit(self, uow: UnitOfWork) -> None:
        """Hand what the transaction wrote to the relay: it publishes without reading back."""
        if uow._pending.written:
            self._on_commit(uow._pending.written)
        uow.committed()
