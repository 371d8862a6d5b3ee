"""The unit of work's facts (causation, correlation, order) and the typed handler registry."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.envelope import Envelope, MalformedMessage
from shared.events.closing import DossierDone
from shared.events.dossier import DossierState
from shared.events.registry import EventData, make_envelope, parse_data
from shared.events.withdrawal import DossierWithdrawn
from shared.handlers import BatchHandler, HandlerRegistry, combined
from shared.testing import detached_unit_of_work
from shared.topics import DOSSIER_COMMANDS
from shared.unit_of_work import UnitOfWork
from tests.samples import done

AT = datetime(2026, 11, 26, 9, tzinfo=UTC)


def withdrawn(code: str, reason: str | None = None) -> DossierWithdrawn:
    return DossierWithdrawn(
        dossier_code=code,
        state=DossierState.WITHDRAWN,
        holding_unit="000.00.01.H59",
        withdrawn_at=AT,
        reason=reason,
    )


def cause(code: str) -> Envelope:
    return make_envelope(withdrawn(code), source="/elsewhere", correlationid=f"flow-{code}")


def test_facts_are_caused_by_the_cause_and_share_its_correlation() -> None:
    incoming = cause("A")
    uow = detached_unit_of_work(incoming, now=AT, source="/lienthong/routing")
    [first, second] = uow.emit(withdrawn("A", "one"), withdrawn("A", "two"))
    assert [e.data["reason"] for e in uow.emitted] == ["one", "two"]
    assert {first.causationid, second.causationid} == {incoming.id}
    assert {first.correlationid, second.correlationid} == {"flow-A"}
    assert first.source == "/lienthong/routing" and first.time == AT
    assert first.id != second.id


def test_a_correlation_id_overrides_the_causes_and_an_event_id_is_kept() -> None:
    uow = detached_unit_of_work(cause("A"))
    [event] = uow.emit(withdrawn("A"), correlation_id="dossier-flow", event_id="fixed-id")
    assert (event.correlationid, event.id) == ("dossier-flow", "fixed-id")
    with pytest.raises(ValueError, match="exactly one fact"):
        uow.emit(withdrawn("A"), withdrawn("A"), event_id="fixed-id")


def test_without_a_cause_a_fact_starts_its_own_flow() -> None:
    uow = detached_unit_of_work()
    [event] = uow.emit(withdrawn("A"))
    assert event.causationid is None and event.correlationid == event.id
    with pytest.raises(RuntimeError, match="no cause"):
        _ = uow.envelope


def test_events_of_a_batch_share_one_transaction_each_with_its_own_cause() -> None:
    batch = detached_unit_of_work()
    first, second = cause("A"), cause("B")
    batch.caused_by(first).emit(withdrawn("A"))
    batch.caused_by(second).emit(withdrawn("B"))
    assert [(e.causationid, e.correlationid) for e in batch.emitted] == [
        (first.id, "flow-A"),
        (second.id, "flow-B"),
    ]
    assert batch.caused_by(first).session is batch.session


async def test_a_handler_gets_its_own_model_and_nothing_else() -> None:
    seen: list[str] = []

    async def on_withdrawn(event: DossierWithdrawn, uow: UnitOfWork) -> None:
        seen.append(event.dossier_code)

    registry = HandlerRegistry().on(DossierWithdrawn, on_withdrawn)
    handler = registry.handler_for(DossierWithdrawn.EVENT_TYPE)
    assert handler is not None and registry.event_types == [DossierWithdrawn.EVENT_TYPE]
    await handler(withdrawn("A"), detached_unit_of_work(cause("A")))
    assert seen == ["A"]

    class Other(EventData):
        EVENT_TYPE = "tests.other.v1"

    with pytest.raises(TypeError, match="got Other"):
        await handler(Other(), detached_unit_of_work())
    assert registry.handler_for("dossier.teleported.v1") is None


def test_one_handler_per_type_and_invalid_answers_per_topic() -> None:
    async def ignore(event: DossierWithdrawn, uow: UnitOfWork) -> None:
        return None

    async def refuse(envelope: Envelope, error: MalformedMessage, uow: UnitOfWork) -> None:
        return None

    registry = HandlerRegistry().on(DossierWithdrawn, ignore).on_invalid(DOSSIER_COMMANDS, refuse)
    with pytest.raises(ValueError, match="registered already"):
        registry.on(DossierWithdrawn, ignore)
    assert registry.invalid_topics == [DOSSIER_COMMANDS]
    assert registry.invalid_handler_for(DOSSIER_COMMANDS) is refuse


# Models as registries of a service list them (each handler takes any of its models).
BOTH: list[type[EventData]] = [DossierWithdrawn, DossierDone]
WITHDRAWALS: list[type[EventData]] = [DossierWithdrawn]
COMPLETIONS: list[type[EventData]] = [DossierDone]


async def test_combined_registries_give_each_part_its_events_of_a_run_at_once() -> None:
    """Planning-like part A takes withdrawals and completions in runs; portal-like part B
    only withdrawals. A run mixing both types is one call per part: A gets all of it, B
    its withdrawals, each in order; one event alone goes through both parts' handlers."""
    calls: list[tuple[str, list[str]]] = []

    def part(name: str) -> BatchHandler:
        async def handle(events: list[tuple[Envelope, EventData]], uow: UnitOfWork) -> None:
            calls.append((name, [envelope.subject for envelope, _ in events]))

        return handle

    a = HandlerRegistry().on_batch(BOTH, part("A"))
    b = HandlerRegistry().on_batch(WITHDRAWALS, part("B"))
    registry = combined(a, b)
    withdrawal_type, done_type = DossierWithdrawn.EVENT_TYPE, DossierDone.EVENT_TYPE
    assert registry.event_types == [withdrawal_type, done_type]
    # One handler for both types: a run mixing them is not split.
    run_handler = registry.batch_handler_for(withdrawal_type)
    assert run_handler is not None and run_handler is registry.batch_handler_for(done_type)
    run = [cause("W1"), make_envelope(done("D1"), source="/t"), cause("W2")]
    await run_handler([(e, parse_data(e)) for e in run], detached_unit_of_work())
    assert calls == [("A", ["W1", "D1", "W2"]), ("B", ["W1", "W2"])]

    calls.clear()
    alone = registry.handler_for(withdrawal_type)
    assert alone is not None
    await alone(withdrawn("W3"), detached_unit_of_work(cause("W3")))
    assert calls == [("A", ["W3"]), ("B", ["W3"])]


async def test_combined_screens_ask_each_part_of_its_own_types() -> None:
    """An event is handled if some part wants it; a part without a screen wants all of its
    types; a part's screen is asked only about its own types."""
    asked: list[list[str]] = []

    async def nobody(events: list[tuple[Envelope, EventData]]) -> list[bool]:
        asked.append([envelope.subject for envelope, _ in events])
        return [envelope.subject == "WANTED" for envelope, _ in events]

    async def ignore(events: list[tuple[Envelope, EventData]], uow: UnitOfWork) -> None:
        return None

    a = HandlerRegistry().on_batch(BOTH, ignore).screened_by(nobody)
    b = HandlerRegistry().on_batch(COMPLETIONS, ignore)
    registry = combined(a, b)
    assert registry.screen is not None
    run = [cause("WANTED"), cause("W-NOBODY"), make_envelope(done("D-1"), source="/t")]
    wanted = await registry.screen([(e, parse_data(e)) for e in run])
    assert wanted == [True, False, True]  # the completion is B's, which screens nothing
    assert asked == [["WANTED", "W-NOBODY", "D-1"]]
    assert combined(b, b).screen is None  # no part screens: nothing passed over


def test_combined_refuses_parts_it_cannot_join() -> None:
    async def ignore(event: DossierWithdrawn, uow: UnitOfWork) -> None:
        return None

    async def refuse(envelope: Envelope, error: MalformedMessage, uow: UnitOfWork) -> None:
        return None

    answering = HandlerRegistry().on_invalid(DOSSIER_COMMANDS, refuse)
    assert combined(answering, HandlerRegistry().on(DossierWithdrawn, ignore)).invalid_topics == [
        DOSSIER_COMMANDS
    ]
    with pytest.raises(ValueError, match="broken contracts"):
        combined(answering, HandlerRegistry().on_invalid(DOSSIER_COMMANDS, refuse))
    own_topic = HandlerRegistry().on_topic(DOSSIER_COMMANDS, [DossierWithdrawn], ignore)
    with pytest.raises(ValueError, match="handlers of their own"):
        combined(own_topic, HandlerRegistry())
