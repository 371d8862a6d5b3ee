"""Each subject's outbox sequence: the numbers that fix the order its events are
published in (``shared.mongo.outbox``), kept in counters unless a service keeps them
elsewhere (``SubjectSequences``; routing's and intake's on their dossiers,
``shared.mongo.document_sequences``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from shared.mongo.client import Collection, Session
from shared.mongo.sequences import reserve_in_transaction


class SubjectSequences(Protocol):
    """Where a service keeps its subjects' outbox sequences."""

    async def reserve(self, counts: Mapping[str, int], session: Session) -> dict[str, int]:
        """Move each subject's sequence on by its count, in the caller's transaction; the
        last number reserved for each (the first is ``last - count + 1``)."""
        ...


def counter_name(subject: str) -> str:
    return f"outbox:{subject}"


def numbers(last: int, count: int) -> range:
    """The ``count`` sequence numbers ending at ``last``."""
    return range(last - count + 1, last + 1)


class CounterSequences:
    """Each subject's sequence in a counter of its own (``counters``, ``outbox:<subject>``)."""

    def __init__(self, counters: Collection) -> None:
        self._counters = counters

    async def reserve(self, counts: Mapping[str, int], session: Session) -> dict[str, int]:
        # Order matters per subject (the Kafka key), so the sequence is per subject:
        # writers of different dossiers never contend on one counter.
        named = {counter_name(subject): n for subject, n in counts.items()}
        last = await reserve_in_transaction(self._counters, named, session)
        return {subject: last[counter_name(subject)] for subject in counts}
