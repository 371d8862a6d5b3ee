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

Two concerns of one service that act on the same facts (notification's planning and its
national portal connector) are two registries ``combined`` into one, read by one
consumer group: each event is fetched, decoded and inbox-recorded once, and every part
that handles its type applies it in the same unit of work (each part's batch handler
once per run, with the run's events of its types, in order). The event's effects are
then one: all of them, once, or (a poison event) none and one dead letter.
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


def combined(*parts: HandlerRegistry) -> HandlerRegistry:
    """One registry doing the work of ``parts``, in their order, for one consumer group.

    An event type handled by several parts gets a handler calling each part's in turn,
    in the event's unit of work. Types every handling part takes in runs (``on_batch``)
    are taken in runs by one handler that gives each part the run's events of its own
    types, in order, grouped as that part's registry groups them: a run mixing types of
    several parts still costs each part one call. The screen asks each part's screen
    about the events of that part's types (a part without one wants them all); an event
    is handled if some part wants it, and then by every part that handles its type: a
    screen passes over only events whose handling changes nothing now, so a part may
    get an event its screen passed over. Parts answering broken contracts on one topic
    are refused (the answer would be ambiguous), as are parts with handlers of their own
    for a topic (``on_topic``: records of such a topic go to those alone).
    """
    if any(part._by_topic for part in parts):
        raise ValueError("registries with handlers of their own for a topic are not combined")
    registry = HandlerRegistry()
    for part in parts:
        for topic, answer in part._invalid.items():
            if topic in registry._invalid:
                raise ValueError(f"two registries answer broken contracts on {topic.name}")
            registry._invalid[topic] = answer
    in_runs = _PartsInRuns(parts)
    for event_type in dict.fromkeys(t for part in parts for t in part.event_types):
        handling = [part for part in parts if event_type in part._handlers]
        handlers = [part._handlers[event_type] for part in handling]
        registry._handlers[event_type] = handlers[0] if len(handlers) == 1 else _each(handlers)
        if all(part.batch_handler_for(event_type) is not None for part in handling):
            registry._batch_handlers[event_type] = in_runs
    if any(part.screen is not None for part in parts):
        registry.screen = _PartsScreen(parts)
    return registry


def _each(handlers: list[Handler]) -> Handler:
    """One event through several parts' handlers, in order, in its unit of work."""

    async def each(data: EventData, uow: UnitOfWork) -> None:
        for handler in handlers:
            await handler(data, uow)

    return each


class _PartsInRuns:
    """A run through each part's batch handlers: the part's events of the run, in order,
    one call per handler of the part (consecutive in the part's view of the run)."""

    def __init__(self, parts: tuple[HandlerRegistry, ...]) -> None:
        self._parts = parts

    async def __call__(self, events: list[tuple[Envelope, EventData]], uow: UnitOfWork) -> None:
        for part in self._parts:
            group: list[tuple[Envelope, EventData]] = []
            current: BatchHandler | None = None
            for event in events:
                handler = part.batch_handler_for(event[0].type)
                if handler is None:
                    continue  # not a type of this part
                if handler is not current and current is not None and group:
                    await current(group, uow)
                    group = []
                current = handler
                group.append(event)
            if current is not None and group:
                await current(group, uow)


class _PartsScreen:
    """Which events of a run some part wants (each part asked about its own types)."""

    def __init__(self, parts: tuple[HandlerRegistry, ...]) -> None:
        self._parts = parts

    async def __call__(self, events: list[tuple[Envelope, EventData]]) -> list[bool]:
        wanted = [False] * len(events)
        for part in self._parts:
            mine = [i for i, (envelope, _) in enumerate(events) if envelope.type in part._handlers]
            if not mine:
                continue
            if part.screen is None:
                flags = [True] * len(mine)
            else:
                flags = await part.screen([events[i] for i in mine])
            for index, flag in zip(mine, flags, strict=True):
                wanted[index] = wanted[index] or flag
        return wanted


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
