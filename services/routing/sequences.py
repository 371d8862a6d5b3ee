"""Routing's outbox sequences, kept on the dossier documents.

A dossier's facts are numbered by the dossier's own write: a save moves the document's
``outbox_seq`` on by the facts it emits, in the same ``findAndModify`` (see
``DossierStore.save``), so an action pays no counter write. New dossiers take their
first facts' numbers from their counters (``counters``, ``outbox:<code>``, as every
subject was numbered before), all of an insert's at once (``first_numbers``), and their
documents carry on from there. Facts emitted without a save (a refused command) are
numbered at the flush, for all of a transaction's subjects at once (``reserve``): on the
document when it has the field, else from the subject's counter, the document then
carrying on from it. So a command refused before routing knew its dossier, a dossier
inserted since and a document stored before the field existed all continue one
sequence; a new dossier and a refusal racing for it both write its counter, so one of
them is retried rather than reusing a number.
"""

from __future__ import annotations

from collections.abc import Mapping

from pymongo import UpdateOne

from shared.mongo.client import Database, Document, Session
from shared.mongo.outbox import CounterSequences

SEQ = "outbox_seq"  # the last outbox sequence number of the dossier's facts


class DossierSequences:
    """Outbox sequences on the dossier documents, counters for subjects without one."""

    def __init__(self, db: Database) -> None:
        self._dossiers = db["dossiers"]
        self._by_counter = CounterSequences(db["counters"])

    async def reserve(self, counts: Mapping[str, int], session: Session) -> dict[str, int]:
        """Numbers for facts neither a save nor an insert numbered (a refused command): one
        read of the documents, the counters of those without the field, one bulk write.
        The transaction's snapshot makes the read and write as safe as ``$inc``: a
        concurrent writer of the same document conflicts, and one of the two is retried."""
        found = self._dossiers.find({"_id": {"$in": list(counts)}}, {SEQ: 1}, session=session)
        on_dossier = {str(doc["_id"]): doc.get(SEQ) async for doc in found}
        carried = {s: int(seq) + counts[s] for s, seq in on_dossier.items() if seq is not None}
        uncarried = {s: n for s, n in counts.items() if s not in carried}
        last = carried | (await self._by_counter.reserve(uncarried, session) if uncarried else {})
        if on_dossier:
            moves = [UpdateOne({"_id": s}, {"$set": {SEQ: last[s]}}) for s in on_dossier]
            await self._dossiers.bulk_write(moves, ordered=False, session=session)
        return last

    async def first_numbers(self, counts: Mapping[str, int], session: Session) -> dict[str, int]:
        """The last numbers of new dossiers' first facts, from their counters (for the
        documents to carry on from): a refusal of a dossier not stored yet took its numbers
        there, and writing the counter makes a racing one conflict."""
        return await self._by_counter.reserve(counts, session)

    async def moved_on(self, code: str, before: Document, count: int, session: Session) -> int:
        """The last number reserved by a save that moved ``code``'s sequence on by
        ``count``, given the document as it was (``before``, with ``outbox_seq``)."""
        if SEQ in before:
            return int(before[SEQ]) + count
        # Stored before the field existed: carry on from the counter.
        last = (await self._by_counter.reserve({code: count}, session))[code]
        await self._dossiers.update_one({"_id": code}, {"$set": {SEQ: last}}, session=session)
        return last
