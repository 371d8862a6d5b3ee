"""Appending to the log: a run of events at once, with the log's tail kept in memory.

An append writes twice, whatever the run's size: the head moves (size, chain hash and
Merkle frontier in one conditional update) and the entries go in one insert (and once
more, if it made dossier keys). What the entries need beforehand, the head, each
dossier's latest link and its key, this process remembers from its last append: the
tail. The head's update only matches if the
head is still the one the tail remembers (its size and chain hash, which commits to every
entry), so a tail that is stale (another writer appended, or the transaction of the last
append was rolled back) is noticed by that very write; the tail is then read afresh and
the run sealed again. The head's update is the append's first write, so two concurrent
appends conflict there and the driver retries one: indices stay gap-free.

The log refuses a second entry for an event id with a unique index. The consumer's inbox
has already dropped every redelivered event, so an event that is in the log already can
only reach here when its inbox record is gone (or from another path): its insert then
fails, the transaction is dropped, and the retry (the consumer retries the run event by
event) looks those events up and leaves out the logged ones.
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pymongo.errors import BulkWriteError, DuplicateKeyError

from audit import personal
from audit.domain import FIRST_OF_SUBJECT, SubjectLink, canonical_json, log_time, seal_entry
from audit.dossier_keys import DossierKeys, MadeKeys
from audit.store import AuditStore, LogHead, entry_document
from shared.clock import Clock
from shared.envelope import Envelope
from shared.mongo.client import Document, Session
from shared.transparency import merkle

REMEMBERED = 20_000
"""Dossiers whose latest link (and key) the tail keeps; others are read when they recur."""


def canonical_event(envelope: Envelope) -> bytes:
    """The event's canonical bytes: RFC 8785 of the envelope's JSON wire form."""
    return canonical_json(json.loads(envelope.to_bytes()))


@dataclass(frozen=True)
class PersonalData:
    """The dossier keys that seal personal fields, and which fields: those each event
    type's contract marks personal, and any ``extra_paths`` (LT_AUDIT_PERSONAL_FIELDS)."""

    keys: DossierKeys
    extra_paths: list[str] = field(default_factory=list)

    def paths(self, event_type: str) -> list[str]:
        """The personal paths of an event type (``*`` for every item of a list)."""
        return [*personal.contract_paths(event_type), *self.extra_paths]


class Recent(OrderedDict[str, Any]):
    """A mapping that forgets its least recently used items beyond ``limit``."""

    def __init__(self, limit: int = REMEMBERED) -> None:
        super().__init__()
        self.limit = limit

    def remember(self, values: dict[str, Any]) -> None:
        for name, value in values.items():
            self[name] = value
            self.move_to_end(name)
        while len(self) > self.limit:
            self.popitem(last=False)


NO_KEY = b""
"""What the tail remembers of a dossier known to have no key yet (its entries all seen)."""


@dataclass
class Tail:
    """The log's end as this process last wrote it: the head, and per dossier the link of
    its next entry and its key (or ``NO_KEY``). Valid only while the stored head is
    ``head``."""

    head: LogHead
    links: Recent = field(default_factory=Recent)
    keys: Recent = field(default_factory=Recent)


@dataclass(frozen=True)
class Sealed:
    """A run sealed after a head: its entries, the head after them, and what was read or
    made for them (stored, and taken by the tail, once the head has moved)."""

    documents: list[Document]
    head: LogHead
    indices: dict[str, int]
    links: dict[str, SubjectLink]  # each dossier's next link after the run
    read_links: dict[str, SubjectLink]
    keys: dict[str, bytes]
    made: MadeKeys


class LogAppender:
    """Appends runs of events; one per process, shared by everything that appends."""

    def __init__(
        self, store: AuditStore, clock: Clock, personal_data: PersonalData | None = None
    ) -> None:
        self._store = store
        self._clock = clock
        self._personal = personal_data
        self._tail: Tail | None = None
        self._suspects: set[str] = set()  # event ids to look up in the log first
        self._lock = asyncio.Lock()  # one append at a time reads and moves the tail

    def look_up(self, event_ids: list[str]) -> None:
        """Look these events up in the log before appending them (not left to the inbox)."""
        self._suspects.update(event_ids)

    def forget_key(self, subject: str) -> None:
        """The dossier's key is being destroyed: never seal with the remembered one again."""
        if self._tail is not None:
            self._tail.keys.pop(subject, None)

    async def append(self, envelopes: list[Envelope], session: Session) -> list[int | None]:
        """Append in order, each event once; each one's index, None if already logged."""
        async with self._lock:
            fresh = await self._fresh(envelopes, session)
            indices = await self._append(fresh, session) if fresh else {}
            self._suspects.difference_update(e.id for e in envelopes)  # settled now
        return [indices.pop(e.id, None) for e in envelopes]

    async def _fresh(self, envelopes: list[Envelope], session: Session) -> list[Envelope]:
        """The events to append: each once (a run may carry one twice), without those an
        entry holds already (looked up only where the inbox cannot be relied on)."""
        unique: dict[str, Envelope] = {}
        for envelope in envelopes:
            unique.setdefault(envelope.id, envelope)
        doubtful = [event_id for event_id in unique if event_id in self._suspects]
        if doubtful:
            for event_id in await self._store.logged_among(doubtful, session):
                del unique[event_id]
        return list(unique.values())

    async def _append(self, fresh: list[Envelope], session: Session) -> dict[str, int]:
        now = log_time(self._clock.now())
        tail = self._tail or Tail(await self._store.head(session))
        sealed = await self._seal(tail, fresh, now, session)
        if not await self._store.move_head(tail.head, sealed.head, now, session):
            # Stale: another writer appended, or the last append was rolled back.
            tail = Tail(await self._store.head(session))
            sealed = await self._seal(tail, fresh, now, session)
            if not await self._store.move_head(tail.head, sealed.head, now, session):
                raise RuntimeError("the log head is missing (ensure_indexes not run?) or moved")
        # The head matched: what the tail told and what was read agree with it.
        if self._personal is not None:
            await self._personal.keys.add(sealed.made, now, session)
        try:
            await self._store.insert_entries(sealed.documents, session)
        except (BulkWriteError, DuplicateKeyError):
            self.look_up([e.id for e in fresh])  # logged already? the retry looks first
            raise
        tail.links.remember(sealed.read_links)
        tail.links.remember(sealed.links)
        tail.keys.remember(sealed.keys)
        tail.head = sealed.head
        self._tail = tail
        return sealed.indices

    async def _seal(
        self, tail: Tail, fresh: list[Envelope], now: datetime, session: Session
    ) -> Sealed:
        """The run's entries after ``tail.head``, with the dossier links and keys they need
        (read for dossiers the tail does not remember)."""
        subjects = list(dict.fromkeys(e.subject for e in fresh))
        unknown = [s for s in subjects if s not in tail.links]
        read_links = await self._store.next_subject_links(unknown, session) if unknown else {}
        links = {s: read_links[s] if s in read_links else tail.links[s] for s in subjects}
        # A dossier without entries has no key: keys are made only with a dossier's entries.
        firsts = [s for s, link in read_links.items() if link == FIRST_OF_SUBJECT]
        forms, keys, made = await self._logged_forms(tail, fresh, firsts, session)
        frontier, chain_hash = merkle.Frontier(tail.head.peaks), tail.head.chain_hash
        documents, indices = [], {}
        for index, envelope in enumerate(fresh, start=tail.head.size):
            link = links[envelope.subject]
            entry = seal_entry(index, now, forms[envelope.id], chain_hash, link)
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
        size = tail.head.size + len(fresh)
        head = LogHead(size=size, chain_hash=chain_hash, peaks=frontier.peaks)
        return Sealed(documents, head, indices, links, read_links, keys, made)

    async def _logged_forms(
        self, tail: Tail, fresh: list[Envelope], firsts: list[str], session: Session
    ) -> tuple[dict[str, bytes], dict[str, bytes], MadeKeys]:
        """The canonical bytes the log keeps of each event, personal fields sealed under
        the dossier key; each dossier's key as the tail should remember it; keys made."""
        events = {e.id: json.loads(e.to_bytes()) for e in fresh}
        if self._personal is None:
            return {e.id: canonical_json(events[e.id]) for e in fresh}, {}, MadeKeys()
        paths = {
            e.id: personal.personal_paths(events[e.id], self._personal.paths(e.type)) for e in fresh
        }
        wanted = list(dict.fromkeys(e.subject for e in fresh if paths[e.id]))
        keys = await self._keys(tail, wanted, firsts, session)
        made = MadeKeys()
        for subject in wanted:
            key = keys[subject]
            if key is None or key == NO_KEY:  # erased, or none yet: a new key from now on
                target = made.new if key == NO_KEY else made.renewed
                keys[subject] = target[subject] = personal.new_dossier_key()
        sealing = {subject: key for subject, key in keys.items() if key}
        forms = {}
        for envelope in fresh:
            event, present = events[envelope.id], paths[envelope.id]
            if present:
                event = personal.seal(event, present, sealing[envelope.subject])
            forms[envelope.id] = canonical_json(event)
        return forms, {s: k for s, k in keys.items() if k is not None}, made

    async def _keys(
        self, tail: Tail, wanted: list[str], firsts: list[str], session: Session
    ) -> dict[str, bytes | None]:
        """Each dossier's key: remembered, ``NO_KEY`` (none yet) or None (erased); read in
        one query where neither the tail nor this run's reads tell."""
        known: dict[str, bytes | None] = {s: NO_KEY for s in firsts}
        known.update({s: tail.keys[s] for s in wanted if s in tail.keys})
        unknown = [s for s in wanted if s not in known]
        if unknown and self._personal is not None:
            stored = await self._personal.keys.stored(unknown, session)
            known.update({s: stored.get(s, NO_KEY) for s in unknown})
        return known
