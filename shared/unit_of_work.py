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

Units of work are opened and run by ``shared.units_of_work.UnitsOfWork``.

A consumer may share one unit of work among a batch of events: ``caused_by`` gives a
view with the same transaction and pending facts but another cause, so each event's
facts carry their own causation and correlation.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from opentelemetry import trace
from opentelemetry.trace import Span

from shared.envelope import Envelope
from shared.events.registry import EventData, make_envelope
from shared.mongo.client import (
    Session,
)
from shared.mongo.outbox import Outbox
from shared.mongo.outbox_entry import OutboxEntry, PendingEvent
from shared.telemetry.messaging import inject_trace_headers

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
