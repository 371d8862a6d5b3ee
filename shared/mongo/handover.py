"""The relay's memory: which handed-over entries it may publish, which marks it owes.

Pure bookkeeping, no I/O, so the ordering rules are tested without servers.

``SubjectOrder`` remembers, for the subjects published most recently, the last sequence
number published. A unit of work's entry may go out from memory only when every earlier
entry of its subject is known to be out: its ``seq`` is the remembered one plus one, or
1 for a subject not remembered. An entry at or below the remembered number went out
already (a store read got to it first) and is dropped. Anything else (a gap, a subject
forgotten) is left to a store read, which publishes each subject from its lowest pending
entry.

``SentMarks`` collects the ids of published entries until they are written as sent in
one update: when ``size`` ids are waiting, ``linger_s`` after the first of them, and
whenever the relay asks (before a store read, on stop).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field

from shared.mongo.outbox_entry import OutboxEntry

# Subjects whose last published sequence number is remembered. A forgotten subject
# only costs a store read; it must outlast the few scheduling steps between a commit
# and its hand-over, during which a store read may publish the same entries.
REMEMBERED_SUBJECTS = 10_000


@dataclass(frozen=True)
class Accepted:
    """What may be published from memory now, and whether a store read is needed."""

    ready: list[OutboxEntry]
    needs_read: bool
    dropped: int  # published already by a store read


class SubjectOrder:
    """The last sequence number published per subject, least recently used forgotten first."""

    def __init__(self, capacity: int = REMEMBERED_SUBJECTS) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._capacity = capacity
        self._last: OrderedDict[str, int] = OrderedDict()

    def last_published(self, subject: str) -> int | None:
        return self._last.get(subject)

    def accept(self, entries: Iterable[OutboxEntry]) -> Accepted:
        """Sort handed-over entries into publishable (in order), dropped and left to the store."""
        expected: dict[str, int] = {}
        ready: list[OutboxEntry] = []
        needs_read = False
        dropped = 0
        # Units of work committed together may hand a subject's entries over in any
        # order: each subject's in sequence order here, subjects as they first came.
        handed = list(entries)
        first_seen = {e.subject: i for i, e in reversed(list(enumerate(handed)))}
        for entry in sorted(handed, key=lambda e: (first_seen[e.subject], e.seq)):
            last = expected.get(entry.subject, self._last.get(entry.subject, 0))
            if entry.seq <= last:
                dropped += 1
            elif entry.seq == last + 1:
                ready.append(entry)
                expected[entry.subject] = entry.seq
            else:
                needs_read = True  # a gap: an earlier entry may still be pending
        return Accepted(ready, needs_read, dropped)

    def published(self, entries: Iterable[OutboxEntry]) -> None:
        """Remember entries as out (published, or quarantined: never to be published)."""
        for entry in entries:
            last = self._last.pop(entry.subject, 0)
            self._last[entry.subject] = max(last, entry.seq)
            if len(self._last) > self._capacity:
                self._last.popitem(last=False)

    def clear(self) -> None:
        self._last.clear()

    def __len__(self) -> int:
        return len(self._last)


@dataclass
class SentMarks:
    """Ids of published entries not yet marked sent in the store."""

    size: int
    linger_s: float
    ids: list[str] = field(default_factory=list)
    first_at: float | None = None  # monotonic seconds of the oldest waiting id

    def add(self, ids: Iterable[str], now: float) -> None:
        before = len(self.ids)
        self.ids.extend(ids)
        if before == 0 and self.ids:
            self.first_at = now

    def due_at(self) -> float | None:
        """When the waiting ids must be written (None: none wait)."""
        if not self.ids or self.first_at is None:
            return None
        return self.first_at if len(self.ids) >= self.size else self.first_at + self.linger_s

    def due(self, now: float) -> bool:
        at = self.due_at()
        return at is not None and now >= at

    def clear(self) -> None:
        self.ids = []
        self.first_at = None
