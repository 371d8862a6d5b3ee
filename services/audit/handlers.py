"""Event handlers of the audit service: every dossier and notification event is appended.

The log treats all events alike, so one handler serves every logged type; the mapping
is built from the contract registry, so a contract added to ``shared.events`` on a
logged topic is logged without a change here. The appending itself is
``audit.appender``'s.
"""

from __future__ import annotations

from functools import partial

from audit.appender import LogAppender, PersonalData
from audit.store import AuditStore
from shared.clock import Clock
from shared.envelope import Envelope
from shared.events import REGISTRY, EventData
from shared.handlers import HandlerRegistry
from shared.mongo.client import Session
from shared.topics import DOSSIER_EVENTS, NOTIFICATION_EVENTS, OPERATIONS_EVENTS, TopicSpec
from shared.unit_of_work import UnitOfWork

LOGGED_TOPICS: tuple[TopicSpec, ...] = (DOSSIER_EVENTS, NOTIFICATION_EVENTS, OPERATIONS_EVENTS)


def logged_event_types() -> list[str]:
    """Every registered event type published on a logged topic."""
    return sorted(name for name, model in REGISTRY.items() if model.TOPIC in LOGGED_TOPICS)


def logged_event_models() -> list[type[EventData]]:
    """The contracts of ``logged_event_types``."""
    return [REGISTRY[name] for name in logged_event_types()]


async def append_event(
    envelope: Envelope,
    data: EventData,
    session: Session,
    *,
    store: AuditStore,
    clock: Clock,
    personal_data: PersonalData | None = None,
) -> int | None:
    """Append the event once, looked up in the log first; its index, or None if an
    entry already holds it (for callers without an appender of their own)."""
    (index,) = await append_events(
        [envelope], session, store=store, clock=clock, personal_data=personal_data
    )
    return index


async def append_events(
    envelopes: list[Envelope],
    session: Session,
    *,
    store: AuditStore,
    clock: Clock,
    personal_data: PersonalData | None = None,
) -> list[int | None]:
    """Append a batch in order, each event once, looked up in the log first (nothing is
    left to an inbox); each one's index, None if already logged."""
    appender = LogAppender(store, clock, personal_data)
    appender.look_up([e.id for e in envelopes])
    return await appender.append(envelopes, session)


async def handle_logged_events(
    events: list[tuple[Envelope, EventData]], uow: UnitOfWork, *, appender: LogAppender
) -> None:
    """The consumer's handler for every logged type: a run of a batch appended at once."""
    await appender.append([envelope for envelope, _ in events], uow.session)


def build_registry(appender: LogAppender) -> HandlerRegistry:
    """Every logged contract goes to ``handle_logged_events``, with the appender bound."""
    handler = partial(handle_logged_events, appender=appender)
    return HandlerRegistry().on_batch(logged_event_models(), handler)
