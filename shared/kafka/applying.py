"""One event in a unit of work of its own: retries, dead letters, answers to broken contracts.

The consumer's slow path (``consumer`` tries a run of events in one unit of work first):
the event's handler and its inbox record in one transaction (a redelivered event hits
the inbox's unique index and changes nothing), transient failures retried with
exponential backoff (tenacity); after the last attempt, or at once for malformed bytes
and unknown types, the record goes to the dead-letter topic with the error and its
origin. A store that cannot do the work is not the message's fault: ``StoreUnavailable``
makes the runner pause and retry later, never dead-letter.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from pymongo.errors import PyMongoError
from tenacity import (
    AsyncRetrying,
    retry_if_not_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from shared.envelope import Envelope, MalformedMessage, salvaged, utc_now
from shared.events.registry import parse_data
from shared.handlers import Handler, HandlerRegistry
from shared.kafka.batching import Decoded, Record, processing_span
from shared.kafka.deadletter import DeadLetterWriter
from shared.mongo.errors import store_unavailable
from shared.mongo.inbox import AlreadyProcessed, Inbox
from shared.settings import ConsumerSettings
from shared.telemetry.metrics import (
    EVENTS_HANDLED,
    HANDLER_RETRIES,
    HANDLER_SECONDS,
    event_type_label,
)
from shared.topics import TopicSpec
from shared.unit_of_work import UnitOfWork
from shared.units_of_work import UnitsOfWork

log = logging.getLogger(__name__)


class StoreUnavailable(Exception):
    """The store could not do the work (unreachable, timed out, no writable primary, write
    concern not met): the record waits, it is not the record's fault."""


@dataclass
class EventApplier:
    """Applies one record of a consumer group, or dead-letters it."""

    service: str
    group_id: str
    registry: HandlerRegistry
    units: UnitsOfWork
    inbox: Inbox
    dead_letters: DeadLetterWriter
    settings: ConsumerSettings
    special_topics: dict[str, TopicSpec]  # full name -> spec, of topics with their own handlers

    def handler_for(self, record: Record, event_type: str) -> Handler | None:
        """The handler of this event type on the record's topic (some topics have their own)."""
        return self.registry.handler_for(event_type, self.special_topics.get(record.topic))

    def answers_invalid(self, record: Record) -> bool:
        """Whether the record's topic answers what breaks its contract (else dead letters)."""
        spec = self.special_topics.get(record.topic)
        return spec is not None and self.registry.invalid_handler_for(spec) is not None

    async def handle_record(self, record: Record) -> None:
        """Apply one record, or answer or dead-letter it; never raises for a bad message.

        On a topic that answers broken contracts, a message that is no valid envelope but
        names its id and subject is answered too, and so is a valid one of a type the
        topic does not take: its sender learns why, where a dead letter would be silence."""
        try:
            envelope = Envelope.from_bytes(record.value)
        except MalformedMessage as exc:
            readable = salvaged(record.value, utc_now()) if self.answers_invalid(record) else None
            if readable is None:
                await self._dead_letter(record, exc, "malformed", attempts=1)
            else:
                await self._handle_invalid(record, readable, exc)
            return
        try:
            data = parse_data(envelope)
        except MalformedMessage as exc:
            await self._handle_invalid(record, envelope, exc)
            return
        handler = self.handler_for(record, envelope.type)
        if handler is None and self.answers_invalid(record):
            not_taken = MalformedMessage(f"{envelope.type} is not taken on this topic")
            await self._handle_invalid(record, envelope, not_taken)
            return
        await self.handle_decoded(Decoded(record, envelope, data, handler))

    async def handle_decoded(self, item: Decoded) -> None:
        """One well-formed event in a unit of work of its own, with retries."""
        started = time.perf_counter()
        record, envelope, handler = item.record, item.envelope, item.handler
        if handler is None:
            self.count(record, envelope.type, "ignored")  # a contract this service does not act on
            return
        with processing_span(item, self.group_id):

            async def apply_handler(uow: UnitOfWork) -> None:
                await handler(item.data, uow)

            outcome = await self._apply_with_retries(record, envelope, apply_handler)
        self.count(record, envelope.type, outcome)
        HANDLER_SECONDS.labels(self.service, event_type_label(envelope.type)).observe(
            time.perf_counter() - started
        )

    async def _handle_invalid(
        self, record: Record, envelope: Envelope, error: MalformedMessage
    ) -> None:
        """Answer a broken contract where the topic's owner wants to (never silence)."""
        spec = self.special_topics.get(record.topic)
        answer = self.registry.invalid_handler_for(spec) if spec is not None else None
        if answer is None:
            await self._dead_letter(record, error, "malformed", attempts=1)
            return

        async def respond(uow: UnitOfWork) -> None:
            await answer(envelope, error, uow)

        outcome = await self._apply_with_retries(record, envelope, respond)
        self.count(record, envelope.type, f"invalid_{outcome}")

    async def _apply_with_retries(
        self, record: Record, envelope: Envelope, work: Callable[[UnitOfWork], Awaitable[None]]
    ) -> str:
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.settings.max_attempts),
            wait=wait_exponential(
                multiplier=self.settings.backoff_initial_s, max=self.settings.backoff_max_s
            ),
            # A message its handler finds malformed stays so: dead-lettered at once.
            retry=retry_if_not_exception_type(
                (AlreadyProcessed, StoreUnavailable, MalformedMessage)
            ),
            reraise=True,
        )
        attempts = 0
        try:
            async for attempt in retrying:
                with attempt:
                    attempts += 1
                    if attempts > 1:
                        HANDLER_RETRIES.labels(self.service, event_type_label(envelope.type)).inc()
                    await self._apply(envelope, work)
        except AlreadyProcessed:
            return "duplicate"
        except StoreUnavailable:
            raise  # not the message's fault: do not dead-letter it, retry it after the outage
        except Exception as exc:  # the handler's own failure, after bounded retries
            # Its text may quote personal values: above DEBUG as the dead letter keeps it.
            log.error(
                "handler failed; dead-lettering",
                extra={
                    "event_id": envelope.id,
                    "error": self.dead_letters.error_text(record.topic, exc),
                },
            )
            log.debug("handler failed", exc_info=exc, extra={"event_id": envelope.id})
            await self._dead_letter(record, exc, "handler_failed", attempts=attempts)
            return "dead_lettered"
        return "handled"

    async def _apply(
        self, envelope: Envelope, work: Callable[[UnitOfWork], Awaitable[None]]
    ) -> None:
        async def in_transaction(uow: UnitOfWork) -> None:
            await self.inbox.claim(self.group_id, envelope, uow.session, uow.now)
            await work(uow)

        try:
            await self.units.run(in_transaction, envelope)
        except PyMongoError as exc:
            if store_unavailable(exc):  # the store's state, not the message's fault
                raise StoreUnavailable(repr(exc)) from exc
            raise

    async def _dead_letter(
        self, record: Record, error: Exception, kind: str, attempts: int
    ) -> None:
        await self.dead_letters.write(
            record, error, kind=kind, attempts=attempts, consumer_group=self.group_id
        )
        self.count(record, None, "dead_lettered")

    def count(self, record: Record, event_type: str | None, outcome: str) -> None:
        EVENTS_HANDLED.labels(
            self.service, record.topic, event_type_label(event_type), outcome
        ).inc()

    def count_run(self, run: list[Decoded], outcomes: list[str], seconds: float) -> None:
        """Count a run's events, and observe each one's share of the run's time."""
        for label, n in self.count_outcomes(run, outcomes).items():
            timing = HANDLER_SECONDS.labels(self.service, label)
            for _ in range(n):
                timing.observe(seconds)

    def count_outcomes(self, items: list[Decoded], outcomes: list[str]) -> Counter[str]:
        """Count events by topic, type and outcome: one label look-up per kind of event,
        not per event. Returns how many there were of each type label."""
        kinds = Counter(
            (item.record.topic, event_type_label(item.envelope.type), outcome)
            for item, outcome in zip(items, outcomes, strict=True)
        )
        per_type: Counter[str] = Counter()
        for (topic, label, outcome), n in kinds.items():
            EVENTS_HANDLED.labels(self.service, topic, label, outcome).inc(n)
            per_type[label] += n
        return per_type
