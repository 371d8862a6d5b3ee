"""Outbox sequences kept on the documents the facts are about.

A service whose facts are about its own documents (a dossier's facts, numbered in the
dossier's sequence) numbers them with the document's own write: the write moves the
document's ``outbox_seq`` on by the facts it emits (``$inc`` in the same
``findAndModify``, or the field of a document inserted or replaced whole), and the unit of
work is told the numbers (``UnitOfWork.numbered``), so the facts cost no counter write.
Facts emitted without such a write (a command refused, say) are numbered at the flush,
for all of a transaction's subjects at once (``reserve``): on the document when it has
the field, else from the subject's counter (``counters``, ``outbox:<subject>``, as every
subject was numbered before), the document then carrying on from it. A document stored
before the field existed carries on from its counter too (``moved_on``).
"""

from __future__ import annotations

from collections.abc import Mapping

from pymongo import UpdateOne

from shared.mongo.client import Database, Document, Session
from shared.mongo.outbox_sequences import CounterSequences

SEQ = "outbox_seq"  # the last outbox sequence number of the document's facts


class DocumentSequences:
    """Outbox sequences on the documents of one collection, counters for subjects without
    one (``SubjectSequences``; a subject is its document's ``_id``)."""

    def __init__(self, db: Database, collection: str = "dossiers") -> None:
        self._documents = db[collection]
        self._by_counter = CounterSequences(db["counters"])

    async def reserve(self, counts: Mapping[str, int], session: Session) -> dict[str, int]:
        """Numbers for facts no write of their document numbered: one read of the
        documents, the counters of those without the field, one bulk write. The
        transaction's snapshot makes the read and write as safe as ``$inc``: a concurrent
        writer of the same document conflicts, and one of the two is retried."""
        found = self._documents.find({"_id": {"$in": list(counts)}}, {SEQ: 1}, session=session)
        on_document = {str(doc["_id"]): doc.get(SEQ) async for doc in found}
        carried = {s: int(seq) + counts[s] for s, seq in on_document.items() if seq is not None}
        uncarried = {s: n for s, n in counts.items() if s not in carried}
        last = carried | (await self._by_counter.reserve(uncarried, session) if uncarried else {})
        if on_document:
            moves = [UpdateOne({"_id": s}, {"$set": {SEQ: last[s]}}) for s in on_document]
            await self._documents.bulk_write(moves, ordered=False, session=session)
        return last

    async def first_numbers(self, counts: Mapping[str, int], session: Session) -> dict[str, int]:
        """The last numbers of new documents' first facts, from their counters (for the
        documents to carry on from), where facts may have been numbered before the
        document existed (a refused command about it): writing the counter makes a racing
        one conflict."""
        return await self._by_counter.reserve(counts, session)

    async def moved_on(self, subject: str, before: Document, count: int, session: Session) -> int:
        """The last number reserved by a write that moved ``subject``'s sequence on by
        ``count``, given the document as it was (``before``, with ``outbox_seq``)."""
        if SEQ in before:
            return int(before[SEQ]) + count
        # Stored before the field existed: carry on from the counter.
        last = (await self._by_counter.reserve({subject: count}, session))[subject]
        await self._documents.update_one({"_id": subject}, {"$set": {SEQ: last}}, session=session)
        return last
