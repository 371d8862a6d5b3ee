"""A fact's copy to an agency feed the broker does not have yet is held in the store and
sent, each dossier's in order, once the feed exists (``shared.kafka.feeds``), against the
real broker and store: the record itself goes out at once, a copy held twice is stored
once, and a later copy to that feed waits behind the held ones."""

from __future__ import annotations

from collections.abc import Awaitable

import pytest

from shared.events.dossier import DossierState
from shared.events.withdrawal import DossierWithdrawn
from shared.kafka import feeds as feeds_module
from shared.kafka.admin import ensure_topics
from shared.mongo.feed_backlog import COLLECTION, FeedBacklog
from shared.runtime import CommonSettings, ServiceRuntime, service_runtime
from shared.testing import envelopes, eventually, read_topic
from shared.topics import DOSSIER_EVENTS, agency_events
from shared.unit_of_work import UnitOfWork

SERVICE = "feeder"
LATE = "000.00.99.H59"  # a unit whose feed is provisioned after its first facts


async def emit_withdrawn(rt: ServiceRuntime, reason: str) -> None:
    async def emit(uow: UnitOfWork) -> None:
        fact = DossierWithdrawn(
            dossier_code="D-1",
            state=DossierState.WITHDRAWN,
            holding_unit=LATE,
            withdrawn_at=uow.now,
            reason=reason,
        )
        uow.emit(fact, audience=[LATE])

    await rt.run_unit_of_work(emit)


async def held(rt: ServiceRuntime) -> int:
    return await rt.db[COLLECTION].count_documents({})


async def test_copies_to_a_missing_feed_are_held_then_sent_in_order_when_it_exists(
    common_settings: CommonSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(feeds_module, "ABSENT_RECHECK_S", 0.0)  # look at every round
    kafka = common_settings.kafka
    async with service_runtime(SERVICE, common_settings) as rt:
        await emit_withdrawn(rt, "first")
        await emit_withdrawn(rt, "second")
        records = await read_topic(kafka, DOSSIER_EVENTS, expect=2)
        assert [e.data["reason"] for e in envelopes(records)] == ["first", "second"]
        await eventually(lambda: _equals(held(rt), 2))

        backlog = FeedBacklog(rt.db)
        [(_, entry)] = await backlog.oldest(LATE, 1)
        await backlog.hold([(LATE, entry)], rt.clock.now())  # held again, as after a crash
        assert await held(rt) == 2

        await ensure_topics(kafka, (agency_events(LATE),))
        await emit_withdrawn(rt, "third")  # waits behind the two held, then goes with them
        copies = await read_topic(kafka, agency_events(LATE), expect=3)
        assert [e.data["reason"] for e in envelopes(copies)] == ["first", "second", "third"]
        assert {r.key for r in copies} == {b"D-1"}
        await eventually(lambda: _equals(held(rt), 0))

        await emit_withdrawn(rt, "fourth")  # none waits: straight to the feed
        copies = await read_topic(kafka, agency_events(LATE), expect=4)
        assert [e.data["reason"] for e in envelopes(copies)][-1] == "fourth"
        assert await held(rt) == 0


async def _equals(count: Awaitable[int], expected: int) -> bool:
    return await count == expected
