"""Outbox numbers a writer reserved with its own document's write (``add_all``'s
``reserved``): used when they number the subject's events exactly, else left unused
and the subject numbered by its sequences as usual (a gap the relay reads past)."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.events.dossier import DossierState
from shared.events.registry import make_envelope
from shared.events.withdrawal import DossierWithdrawn
from shared.mongo.client import Session, mongo_client, run_in_transaction, service_database
from shared.mongo.outbox import Outbox
from shared.mongo.outbox_entry import PendingEvent
from shared.runtime import CommonSettings

NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)


def withdrawn(code: str) -> PendingEvent:
    fact = DossierWithdrawn(
        dossier_code=code,
        state=DossierState.WITHDRAWN,
        holding_unit="U",
        withdrawn_at=NOW,
        reason="test",
    )
    return PendingEvent(make_envelope(fact, source="/tests"), [])


async def test_reserved_numbers_are_taken_when_they_fit_and_left_when_not(
    common_settings: CommonSettings,
) -> None:
    async with mongo_client(common_settings.mongo, "test") as client:
        db = service_database(client, common_settings.mongo, "numbers")
        outbox = Outbox(db)
        await outbox.ensure_indexes()
        events = [withdrawn("FITS"), withdrawn("SHORT"), withdrawn("SHORT"), withdrawn("FITS")]
        reserved = {"FITS": [41, 42], "SHORT": [7]}  # SHORT emits two facts

        async def write(session: Session) -> list[tuple[str, int]]:
            written = await outbox.add_all(events, session, NOW, reserved)
            return [(entry.subject, entry.seq) for entry in written]

        numbered = await run_in_transaction(client, write)

        assert numbered == [("FITS", 41), ("SHORT", 1), ("SHORT", 2), ("FITS", 42)]
        assert [e["seq"] for e in await outbox.entries_for("FITS")] == [41, 42]
        counters = {doc["_id"]: doc["value"] async for doc in db["counters"].find()}
        assert counters == {"outbox:SHORT": 2}  # FITS cost no counter
