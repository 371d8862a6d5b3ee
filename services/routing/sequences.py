"""Routing's outbox sequences, kept on the dossier documents.

A dossier's facts are numbered by the dossier's own write: a save moves the document's
``outbox_seq`` on by the facts it emits, in the same ``findAndModify`` (see
``DossierStore.save``), so an action pays no counter write. Facts of a dossier emitted
without a save (a refused command) move the same field on (``reserve``).

A subject with no dossier document (a command for a dossier routing has not seen) is
numbered from its counter (``counters``, ``outbox:<code>``), as every subject was before;
the dossier's insert moves that counter on too, so it conflicts with such a refusal
instead of reusing its numbers, and carries the sequence on from it. A document stored
before the field existed takes the counter's value the first time it is written.
"""

from __future__ import annotations

from collections.abc import Mapping

from shared.mongo.client import Database, Document, Session
from shared.mongo.outbox import CounterSequences, counter_name
from shared.mongo.sequences import reserve_values

SEQ = "outbox_seq"  # the last outbox sequence number of the dossier's facts


def numbers(last: int, count: int) -> range:
    """The ``count`` numbers ending at ``last``."""
    return range(last - count + 1, last + 1)


class DossierSequences:
    """Outbox sequences on the dossier documents, counters for subjects without one."""

    def __init__(self, db: Database) -> None:
        self._dossiers = db["dossiers"]
        self._counters = db["counters"]
        self._by_counter = CounterSequences(self._counters)

    async def reserve(self, counts: Mapping[str, int], session: Session) -> dict[str, int]:
        last: dict[str, int] = {}
        for subject, count in counts.items():
            before = await self._dossiers.find_one_and_update(
                {"_id": subject}, {"$inc": {SEQ: count}}, {SEQ: 1}, session=session
            )
            if before is not None:
                last[subject] = await self.moved_on(subject, before, count, session)
        without_dossier = {s: n for s, n in counts.items() if s not in last}
        if without_dossier:
            last |= await self._by_counter.reserve(without_dossier, session)
        return last

    async def moved_on(self, code: str, before: Document, count: int, session: Session) -> int:
        """The last number reserved by a write that moved ``code``'s sequence on by
        ``count``, given the document as it was (``before``, with ``outbox_seq``)."""
        if SEQ in before:
            return int(before[SEQ]) + count
        # Stored before the field existed: carry on from the counter.
        counter = await self._counters.find_one({"_id": counter_name(code)}, session=session)
        last = (0 if counter is None else int(counter["value"])) + count
        await self._dossiers.update_one({"_id": code}, {"$set": {SEQ: last}}, session=session)
        return last

    async def first_numbers(self, code: str, count: int, session: Session) -> int:
        """The last of the numbers of a new dossier's first facts (moving its counter on)."""
        return await reserve_values(self._counters, counter_name(code), count, session)
