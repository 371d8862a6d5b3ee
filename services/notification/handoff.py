"""Deliveries handed from the consumer to this instance's dispatcher, claimed as recorded.

Without it, a batch that records notifications to send is followed by the dispatcher's
claim: a query, an update and a commit in a transaction of their own. Instead, while
this instance's dispatcher runs and has room, the handler writes the records already
claimed for it (``sending``, under a fresh claim id, with a lease) in the consumer's
own transaction. After the batch the dispatcher reads what those claim ids hold (one
query; only committed records are seen) and delivers it. A claim id whose transaction
never committed holds nothing and is dropped. A committed record the dispatcher never
started is given back when it stops, taken back when the instance restarts, or lapses
with its lease, as any claim does: never two senders, nothing left behind.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from notification.store import claim_fields
from shared.mongo.client import Document


class HandOffs:
    """Claims issued to the consumer's handler for one dispatcher, until it starts them."""

    def __init__(self, *, instance: str, lease: timedelta, room: Callable[[], int]) -> None:
        self._instance = instance
        self._lease = lease
        self._room = room  # free delivery slots of the dispatcher, before any reservation
        self._open = False
        self._reserved: dict[str, int] = {}  # claim id -> records claimed, until started
        self._issued: list[str] = []  # claim ids of the batch in progress
        self._handed: list[str] = []  # claim ids of batches done, for the dispatcher

    def open(self) -> None:
        """The dispatcher runs: claims may be issued."""
        self._open = True

    @property
    def is_open(self) -> bool:
        return self._open

    def close(self) -> list[str]:
        """No more claims; those issued and not started, to be given back."""
        self._open = False
        outstanding = list(self._reserved)
        self._reserved, self._issued, self._handed = {}, [], []
        return outstanding

    @property
    def reserved(self) -> int:
        """Records claimed for the dispatcher and not started yet."""
        return sum(self._reserved.values())

    def claim(self, count: int, now: datetime) -> Document | None:
        """Claim fields for ``count`` records about to be written, if the dispatcher can take
        them now (else None: they are written pending, for its next scan)."""
        if not self._open or count <= 0 or count > self._room() - self.reserved:
            return None
        claim_id = f"{self._instance}/{uuid.uuid4()}"
        self._reserved[claim_id] = count
        self._issued.append(claim_id)
        return claim_fields(now, self._lease, claim_id, self._instance)

    def batch_done(self) -> bool:
        """The consumer's batch ended: its claims go to the dispatcher. Whether any did."""
        self._handed.extend(self._issued)
        self._issued = []
        return bool(self._handed)

    def take(self) -> list[str]:
        """The claim ids handed over since the last call (the dispatcher reads them)."""
        handed, self._handed = self._handed, []
        return handed

    def started(self, claim_ids: list[str]) -> None:
        """The dispatcher read these claims (and started what they hold)."""
        for claim_id in claim_ids:
            self._reserved.pop(claim_id, None)

    def put_back(self, claim_ids: list[str]) -> None:
        """Reading these claims failed: they are read again next time."""
        self._handed[:0] = claim_ids
