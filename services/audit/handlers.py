"""Event handlers of the audit service: every dossier and notification event is appended.

The log treats all events alike, so one handler serves every logged type; the mapping
is built from the contract registry, so a contract added to ``shared.events`` on a
logged topic is logged without a change here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from audit import personal
from audit.domain import canonical_json, seal_entry
from audit.dossier_keys import DossierKeys
from audit.store import AuditStore, entry_document
from shared.clock import Clock
from shared.envelope import Envelope
from shared.events import REGISTRY, EventData
from shared.handlers import HandlerRegistry
from shared.mongo.client import Session
from shared.topics import DOSSIER_EVENTS, NOTIFICATION_EVENTS, OPERATIONS_EVENTS, TopicSpec
from shared.transparency import merkle
from shared.unit_of_work import UnitOfWork

LOGGED_TOPICS: tuple[TopicSpec, ...] = (DOSSIER_EVENTS, NOTIFICATION_EVENTS, OPERATIONS_EVENTS)


def logged_event_types() -> list[str]:
    """Every registered event type published on a logged topic."""
    return sorted(name for name, model in REGISTRY.items() if model.TOPIC in LOGGED_TOPICS)


def logged_event_models() -> list[type[EventData]]:
    """The contracts of ``logged_event_types``."""
    return [REGISTRY[name] for name in logged_event_types()]


def canonical_event(envelope: Envelope) -> bytes:
    """The event's canonical bytes: RFC 8785 of the envelope's JSON wire form."""
    return canonical_json(json.loads(envelope.to_bytes()))


@dataclass(frozen=True)
class PersonalData:
    """Which fields are personal, and the dossier keys that seal them."""

    keys: DossierKeys
    paths: list[str]

    async def logged_form(self, envelope: Envelope, now: datetime, session: Session) -> bytes:
        """The canonical bytes the log keeps: personal fields sealed under the dossier key."""
        event = json.loads(envelope.to_bytes())
        present = personal.personal_paths(event, self.paths)
        if not present:
            return canonical_json(event)
        key = await self.keys.key_for_append(envelope.subject, now, session)
        return canonical_json(personal.seal(event, present, key))


async def append_event(
    envelope: Envelope,
    data: EventData,
    session: Session,
    *,
    store: AuditStore,
    clock: Clock,
    personal_data: PersonalData | None = None,
) -> int | None:
    """Append the event once; its index, or None if an entry already holds it."""
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
    """Append a batch in order, each event once; each one's index, None if already logged.

    The same writes whatever the batch's size: the head claims all the indices at once,
    the entries go in one insert, the head's chain hash and frontier move once. Two reads
    before: which events are logged already, and each subject's latest entry.
    """
    logged = await store.logged_among([e.id for e in envelopes], session)
    fresh: dict[str, Envelope] = {}
    for envelope in envelopes:
        if envelope.id not in logged:
            fresh.setdefault(envelope.id, envelope)  # a batch may carry an event twice
    if not fresh:
        return [None] * len(envelopes)
    links = await store.next_subject_links(list({e.subject for e in fresh.values()}), session)
    head = await store.claim_indices(len(fresh), session)
    frontier, chain_hash, now = merkle.Frontier(head.peaks), head.chain_hash, clock.now()
    documents, indices = [], {}
    for index, envelope in enumerate(fresh.values(), start=head.size):
        link = links[envelope.subject]
        logged_form = (
            await personal_data.logged_form(envelope, now, session)
            if personal_data is not None
            else canonical_event(envelope)
        )
        entry = seal_entry(index, now, logged_form, chain_hash, link)
        documents.append(
            entry_document(
                entry,
                event_id=envelope.id,
                event_type=envelope.type,
                subject=envelope.subject,
                subtree_hashes=frontier.append(entry.leaf_hash),
            )
        )
        links[envelope.subject] = link.following(index)
        chain_hash, indices[envelope.id] = entry.chain_hash, index
    await store.insert_entries(documents, session)
    await store.advance_head(chain_hash, frontier.peaks, now, session)
    return [indices.pop(e.id, None) for e in envelopes]


async def handle_logged_events(
    events: list[tuple[Envelope, EventData]],
    uow: UnitOfWork,
    *,
    store: AuditStore,
    clock: Clock,
    personal_data: PersonalData | None = None,
) -> None:
    """The consumer's handler for every logged type: a run of a batch appended at once."""
    await append_events(
        [envelope for envelope, _ in events],
        uow.session,
        store=store,
        clock=clock,
        personal_data=personal_data,
    )


def build_registry(
    store: AuditStore, clock: Clock, personal_data: PersonalData | None = None
) -> HandlerRegistry:
    """Every logged contract goes to ``handle_logged_events``, with its store bound."""
    handler = partial(handle_logged_events, store=store, clock=clock, personal_data=personal_data)
    return HandlerRegistry().on_batch(logged_event_models(), handler)
