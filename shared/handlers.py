"""The typed handler registry: which handler a consumer calls for which contract.

A handler receives its own event model and the unit of work it writes through::

    registry.on(DossierReceived, partial(on_dossier_received, routing=routing))
    # async def on_dossier_received(event: DossierReceived, uow: UnitOfWork, *, routing)

The registry checks the payload's type once, at the edge, so handlers need no
``isinstance``. A topic's owner may also answer envelopes that break their contract
(``on_invalid``), e.g. with a refusal event, instead of dead-lettering them, and may
give a topic handlers of its own (``on_topic``), e.g. when the topic itself says who
sent the message (a topic only one agency may write to).

The consumer runner applies a fetched batch of a partition in one unit of work. A
handler that can do a batch's work at once (audit appends N entries with one head
update; intake reads a run's dossiers in one query and writes them in one) registers
with ``on_batch``: it then receives the consecutive events of the batch that it
handles, in order, each with its envelope and its own model (checked here, as for
``on``); alone, an event is a batch of one.

A service whose handlers often find nothing to do may give the registry a screen
(``screened_by``): before a run's unit of work opens, it says which of the run's events
need one. An event it passes over is ignored like a contract without a handler (no
transaction, no inbox record), and screened again if it comes again; the screen must
therefore only pass over events whose handling would change nothing now.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

from shared.envelope import Envelope, MalformedMessage
from shared.events.registry import EventData
from shared.topics import TopicSpec
from shared.unit_of_work import UnitOfWork

E = TypeVar("E", bound=EventData)

TypedHandler = Callable[[E, UnitOfWork], Awaitable[None]]
"""Applies one event of its type: writes its effect and emits facts through ``uow``."""

Handler = Callable[[EventData, UnitOfWork], Awaitable[None]]
"""A handler behind the registry's type check (what the consumer runner calls)."""

TypedBatchHandler = Callable[[list[tuple[Envelope, E]], UnitOfWork], Awaitable[None]]
"""Applies consecutive events of one batch, of its types, in order, in one unit of work."""

BatchHandler = Callable[[list[tuple[Envelope, EventData]], UnitOfWork], Awaitable[None]]
"""A batch handler behind the registry's type check (what the consumer runner calls)."""

InvalidHandler = Callable[[Envelope, MalformedMessage, UnitOfWork], Awaitable[None]]
"""Answers a well-formed envelope whose type or data breaks its contract."""

Screen = Callable[[list[tuple[Envelope, EventData]]], Awaitable[list[bool]]]
"""Which of a run's events need handling (one flag each, in order), before any transaction."""


class HandlerRegistry:
    """Handlers by event type, each called only with its own model."""

    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}
        self._batch_handlers: dict[str, BatchHandler] = {}
        self._invalid: dict[TopicSpec, InvalidHandler] = {}
        self._by_topic: dict[TopicSpec, dict[str, Handler]] = {}
        self.screen: Screen | None = None

    def on(self, model: type[E], handler: TypedHandler[E]) -> HandlerRegistry:
        """Call ``handler`` for every event of ``model``'s type (one handler per type)."""
        event_type = model.EVENT_TYPE
        if event_type in self._handlers:
            raise ValueError(f"a handler for {event_type} is registered already")
        self._handlers[event_type] = _checked(model, handler)
        return self

    def on_topic(
        self, topic: TopicSpec, models: Iterable[type[E]], handler: TypedHandler[E]
    ) -> HandlerRegistry:
        """Records of ``topic`` go to these handlers only (never to the general ones)."""
        handlers = self._by_topic.setdefault(topic, {})
        for model in models:
            handlers[model.EVENT_TYPE] = _checked(model, handler)
        return self

    def on_each(self, models: Iterable[type[E]], handler: TypedHandler[E]) -> HandlerRegistry:
        """One handler for several contracts (e.g. every unit command)."""
        for model in models:
            self.on(model, handler)
        return self

    def on_batch(self, models: Iterable[type[E]], handler: TypedBatchHandler[E]) -> HandlerRegistry:
        """One handler for runs of these contracts within a batch (and each event alone)."""
        models = tuple(models)
        checked = _checked_batch(models, handler)

        async def alone(data: EventData, uow: UnitOfWork) -> None:
            await checked([(uow.envelope, data)], uow)

        for model in models:
            self.on(model, alone)
            self._batch_handlers[model.EVENT_TYPE] = checked
        return self

    def batch_handler_for(self, event_type: str) -> BatchHandler | None:
        """The handler of runs of this type, if it takes runs (else events one by one)."""
        return self._batch_handlers.get(event_type)

    def screened_by(self, screen: Screen) -> HandlerRegistry:
        """Ask ``screen`` which events of a run need handling, before its unit of work."""
        self.screen = screen
        return self

    def on_invalid(self, topic: TopicSpec, handler: InvalidHandler) -> HandlerRegistry:
        """Answer envelopes on ``topic`` that break their contract (else dead-lettered)."""
        self._invalid[topic] = handler
        return self

    def handler_for(self, event_type: str, topic: TopicSpec | None = None) -> Handler | None:
        """The handler of an event type (on ``topic``, if it has handlers of its own);
        None for a contract this service ignores there."""
        if topic is not None and topic in self._by_topic:
            return self._by_topic[topic].get(event_type)
        return self._handlers.get(event_type)

    def invalid_handler_for(self, topic: TopicSpec) -> InvalidHandler | None:
        return self._invalid.get(topic)

    @property
    def invalid_topics(self) -> list[TopicSpec]:
        return list(self._invalid)

    @property
    def special_topics(self) -> list[TopicSpec]:
        """Topics with handlers or answers of their own."""
        return list(dict.fromkeys([*self._invalid, *self._by_topic]))

    @property
    def event_types(self) -> list[str]:
        """The handled event types, in registration order."""
        return list(self._handlers)


def _checked(model: type[E], handler: TypedHandler[E]) -> Handler:
    """``handler`` behind a check that the payload really is a ``model``."""

    async def checked(data: EventData, uow: UnitOfWork) -> None:
        if not isinstance(data, model):
            raise TypeError(f"{model.EVENT_TYPE} handler got {type(data).__name__}")
        await handler(data, uow)

    return checked


def _checked_batch(models: tuple[type[E], ...], handler: TypedBatchHandler[E]) -> BatchHandler:
    """``handler`` behind a check that every payload of a run is one of ``models``."""

    async def checked(events: list[tuple[Envelope, EventData]], uow: UnitOfWork) -> None:
        typed: list[tuple[Envelope, E]] = []
        for envelope, data in events:
            if not isinstance(data, models):
                raise TypeError(f"{envelope.type} batch handler got {type(data).__name__}")
            typed.append((envelope, data))
        await handler(typed, uow)

    return checked
