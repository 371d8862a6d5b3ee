"""Deliveries handed from the consumer to this instance's dispatcher, claimed as recorded.

Without it, a batch that records notifications to send is followed by the dispatcher's
claim: a query, an update and a commit in a transaction of their own. Instead, while
this instance's dispatcher runs and has room, the handler writes the records already
claimed for it (``sending``, under a fresh claim id, with a lease) in the consumer's
own transaction, and asks the unit of work to hand them over once it has committed
(``UnitOfWork.after_commit``): the dispatcher starts them as they are, with no read. A
claim whose transaction never committed (aborted, or retried as another attempt with
a claim of its own) is never handed over; its room is freed when the consumer's batch
ends. A committed record the dispatcher never started is given back when it stops,
taken back when the instance restarts, or lapses with its lease, as any claim does:
never two senders, nothing left behind.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from notification.delivery_store import claim_fields
from shared.mongo.client import Document


def _nothing() -> None:
    return None


class HandOffs:
    """Claims issued to the consumer's handler for one dispatcher, until it starts them."""

    def __init__(
        self,
        *,
        instance: str,
        lease: timedelta,
        room: Callable[[], int],
        ready: Callable[[], None] = _nothing,
    ) -> None:
        self._instance = instance
        self._lease = lease
        self._room = room  # free delivery slots of the dispatcher, before any reservation
        self._ready = ready  # committed records wait for the dispatcher
        self._open = False
        self._reserved: dict[str, int] = {}  # claim id -> records claimed, until started
        self._issued: list[str] = []  # claim ids whose transaction has not committed
        self._handed: list[Document] = []  # committed records, for the dispatcher

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

    def committed(self, claim_id: str, records: list[Document]) -> None:
        """The transaction that wrote ``records`` under ``claim_id`` (those of them it
        inserted) committed: they are the dispatcher's to start."""
        if claim_id in self._issued:
            self._issued.remove(claim_id)
        if not self._open or claim_id not in self._reserved:
            return  # closed meanwhile: the records lapse with their lease, or are taken back
        self._reserved[claim_id] = len(records)
        if not records:
            del self._reserved[claim_id]
            return
        self._handed.extend(records)
        self._ready()

    def batch_done(self) -> None:
        """The consumer's batch ended: the claims it issued whose transaction never
        committed hold nothing, and their room is free again."""
        for claim_id in self._issued:
            self._reserved.pop(claim_id, None)
        self._issued = []

    def take(self) -> list[Document]:
        """The committed records handed over since the last call, no longer reserved (the
        dispatcher starts them)."""
        handed, self._handed = self._handed, []
        for record in handed:
            claim_id = record["claim"]
            left = self._reserved.get(claim_id, 0) - 1
            if left > 0:
                self._reserved[claim_id] = left
            else:
                self._reserved.pop(claim_id, None)
        return handed


class WakeAfterBatch:
    """After a consumer batch, tells the dispatcher the batch is over (claims issued in
    a transaction that never committed are void; committed ones were handed over at
    their commit), and wakes it to claim if the batch recorded others to send, and only
    then: a wake-up costs the dispatcher a claim query (its poll finds the rest)."""

    def __init__(self, wake: Callable[[], None], hand_over: Callable[[], None] = _nothing) -> None:
        self._wake = wake
        self._hand_over = hand_over
        self._recorded = False

    def recorded(self) -> None:
        """Called by a handler that stored records to send (committed with its batch)."""
        self._recorded = True

    def after_batch(self) -> None:
        """Called by the consumer once a batch's effects are stored."""
        self._hand_over()
        if self._recorded:
            self._recorded = False
            self._wake()
