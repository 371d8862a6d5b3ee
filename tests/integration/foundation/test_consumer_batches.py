"""A fetched batch of a partition is one unit of work, and a poison event still goes alone.

Against the real broker and store: the events of a batch share one transaction (one
inbox write, one outbox write), each has exactly one effect, they keep their order,
the facts they emit carry their own causes, and an event whose handler keeps failing
is dead-lettered alone while the others of its batch are applied once each.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from pymongo.errors import (
    ExecutionTimeout,
    NetworkTimeout,
    PyMongoError,
    ServerSelectionTimeoutError,
)

from chaos.servers import LatencyProxy
from shared.envelope import Envelope
from shared.events.dossier import DossierState
from shared.events.registry import EventData, make_envelope
from shared.events.withdrawal import DossierWithdrawn
from shared.handlers import HandlerRegistry, combined
from shared.kafka.consumer import ConsumerRunner, StoreUnavailable
from shared.kafka.deadletter import read_dead_letters
from shared.runtime import CommonSettings, ServiceRuntime, service_runtime
from shared.topics import DOSSIER_EVENTS, topic_name
from shared.unit_of_work import UnitOfWork
from tests.integration.foundation.counting import (
    counting_handler,
    drain,
    effect_counts,
    on_withdrawn,
)


def withdrawal(code: str) -> DossierWithdrawn:
    return DossierWithdrawn(
        dossier_code=code,
        state=DossierState.WITHDRAWN,
        holding_unit="000.00.01.H59",
        withdrawn_at=datetime(2026, 11, 26, 9, tzinfo=UTC),
    )


def withdrawn(code: str) -> Envelope:
    return make_envelope(withdrawal(code), source="/tests")


@pytest.fixture
async def runtime(common_settings: CommonSettings) -> AsyncIterator[ServiceRuntime]:
    async with service_runtime("batches", common_settings) as rt:
        yield rt


async def publish_in_one_partition(rt: ServiceRuntime, events: list[Envelope]) -> None:
    """One key for all: one partition, so one fetch returns them as a batch, in this order."""
    topic = topic_name(rt.settings.kafka.topic_prefix, DOSSIER_EVENTS)
    for event in events:
        await rt.publisher.publish_raw(topic, event.to_bytes(), key="ONE", headers=[])


def deadline_passed(last_error: PyMongoError) -> ExecutionTimeout:
    """What the driver raises when a transaction's deadline passes while it retries
    (``with_transaction``): an ExecutionTimeout with the last error's message, raised
    from it. Against a closed port that error is a ServerSelectionTimeoutError
    ("Connect call failed"), on a store too slow for the run a NetworkTimeout."""
    try:
        raise ExecutionTimeout(str(last_error), 50, {"ok": 0, "code": 50}) from last_error
    except ExecutionTimeout as timeout:
        return timeout


def count_one_by_one(runner: ConsumerRunner) -> list[str]:
    """The subjects the runner handles one by one (each in a unit of work of its own)."""
    singles: list[str] = []
    handle = runner._events.handle_decoded

    async def handle_decoded(item):  # type: ignore[no-untyped-def]
        singles.append(item.envelope.subject)
        await handle(item)

    runner._events.handle_decoded = handle_decoded  # type: ignore[method-assign]
    return singles


def ordered(rt: ServiceRuntime, poison: str | None = None) -> HandlerRegistry:
    """Counts effects and appends each applied subject to one ordered list."""
    count = counting_handler(rt.db)

    async def apply(event: DossierWithdrawn, uow: UnitOfWork) -> None:
        if event.dossier_code == poison:
            raise RuntimeError(f"cannot handle {poison}")
        await count(event, uow)
        push = {"$push": {"codes": event.dossier_code}}
        await rt.db["order"].update_one({"_id": "all"}, push, upsert=True, session=uow.session)

    return on_withdrawn(apply)


async def applied_order(rt: ServiceRuntime) -> list[str]:
    doc = await rt.db["order"].find_one({"_id": "all"})
    return [] if doc is None else list(doc["codes"])


async def test_a_batch_is_one_unit_of_work_with_one_effect_per_event_in_order(
    runtime: ServiceRuntime,
) -> None:
    runtime.add_consumer([DOSSIER_EVENTS], ordered(runtime))
    events = [withdrawn(f"B-{n}") for n in range(12)]
    await publish_in_one_partition(runtime, [*events[:6], events[3], *events[6:]])

    assert await drain(runtime, 13) == 13

    assert await effect_counts(runtime.db) == {f"B-{n}": 1 for n in range(12)}
    assert await applied_order(runtime) == [f"B-{n}" for n in range(12)]
    records = await runtime.db["inbox"].find({"consumer": runtime.consumers[0].group_id}).to_list()
    assert sorted(r["event_id"] for r in records) == sorted(e.id for e in events)
    # One unit of work, one clock reading: the batch was applied in a single transaction.
    assert len({r["processed_at"] for r in records}) == 1


async def test_a_batch_with_an_event_processed_in_an_earlier_batch_applies_only_the_fresh_ones(
    runtime: ServiceRuntime,
) -> None:
    runtime.add_consumer([DOSSIER_EVENTS], ordered(runtime))
    first, second, third = withdrawn("R-1"), withdrawn("R-2"), withdrawn("R-3")
    await publish_in_one_partition(runtime, [first])
    assert await drain(runtime, 1) == 1

    await publish_in_one_partition(runtime, [second, first, third])  # R-1 redelivered
    assert await drain(runtime, 3) == 3

    assert await effect_counts(runtime.db) == {"R-1": 1, "R-2": 1, "R-3": 1}
    assert await applied_order(runtime) == ["R-1", "R-2", "R-3"]
    records = await runtime.db["inbox"].find({"consumer": runtime.consumers[0].group_id}).to_list()
    assert sorted(r["event_id"] for r in records) == sorted(e.id for e in (first, second, third))


async def test_a_fetch_over_several_partitions_is_one_unit_of_work(
    runtime: ServiceRuntime,
) -> None:
    runtime.add_consumer([DOSSIER_EVENTS], on_withdrawn(counting_handler(runtime.db)))
    events = [withdrawn(f"M-{n}") for n in range(24)]  # keyed by code: over every partition
    for event in events:
        await runtime.publisher.publish(event, DOSSIER_EVENTS)

    assert await drain(runtime, 24) == 24

    assert await effect_counts(runtime.db) == {f"M-{n}": 1 for n in range(24)}
    records = await runtime.db["inbox"].find({"consumer": runtime.consumers[0].group_id}).to_list()
    assert len(records) == 24
    # Fewer commits than partitions: a fetch's partitions share their unit of work.
    assert len({r["processed_at"] for r in records}) < DOSSIER_EVENTS.partitions


async def test_a_poison_event_in_a_batch_is_dead_lettered_alone(runtime: ServiceRuntime) -> None:
    runtime.add_consumer([DOSSIER_EVENTS], ordered(runtime, poison="BAD"))
    events = [withdrawn(f"P-{n}") for n in range(4)] + [withdrawn("BAD")]
    events += [withdrawn(f"P-{n}") for n in range(4, 9)]
    await publish_in_one_partition(runtime, events)

    assert await drain(runtime, 10) == 10

    assert await effect_counts(runtime.db) == {f"P-{n}": 1 for n in range(9)}
    assert await applied_order(runtime) == [f"P-{n}" for n in range(9)]
    letters = await read_dead_letters(runtime.settings.kafka)
    assert [Envelope.from_bytes(letter.value).subject for letter in letters] == ["BAD"]
    assert letters[0].attempts == runtime.settings.consumer.max_attempts
    assert not await runtime.inbox.seen(runtime.consumers[0].group_id, events[4].id)


async def test_a_batch_handler_gets_the_run_and_each_fact_keeps_its_cause(
    runtime: ServiceRuntime,
) -> None:
    runs: list[int] = []

    async def echo_all(events: list[tuple[Envelope, DossierWithdrawn]], uow: UnitOfWork) -> None:
        runs.append(len(events))
        for envelope, _ in events:
            uow.caused_by(envelope).emit(withdrawal(f"ECHO-{envelope.subject}"))

    runtime.add_consumer([DOSSIER_EVENTS], HandlerRegistry().on_batch([DossierWithdrawn], echo_all))
    events = [withdrawn("E-1") for _ in range(3)] + [withdrawn("E-2") for _ in range(3)]
    await publish_in_one_partition(runtime, events)

    assert await drain(runtime, 6) == 6

    assert sum(runs) == 6 and max(runs) > 1  # runs of the batch, not one event at a time
    for code, causes in (("ECHO-E-1", events[:3]), ("ECHO-E-2", events[3:])):
        entries = await runtime.outbox.entries_for(code)
        assert [e["seq"] for e in entries] == [1, 2, 3]  # one sequence per subject, in order
        facts = [Envelope.model_validate_json(str(e["envelope"])) for e in entries]
        assert [f.causationid for f in facts] == [c.id for c in causes]
        assert [f.correlationid for f in facts] == [c.correlationid for c in causes]


async def test_events_the_screen_passes_over_cost_no_transaction(runtime: ServiceRuntime) -> None:
    screened: list[list[str]] = []

    async def only_wanted(events: list[tuple[Envelope, EventData]]) -> list[bool]:
        screened.append([envelope.subject for envelope, _ in events])
        return [envelope.subject.startswith("WANTED") for envelope, _ in events]

    runtime.add_consumer([DOSSIER_EVENTS], ordered(runtime).screened_by(only_wanted))
    events = [withdrawn(f"{kind}-{n}") for n in range(3) for kind in ("WANTED", "NOBODY")]
    await publish_in_one_partition(runtime, events)

    assert await drain(runtime, 6) == 6

    assert sum(len(run) for run in screened) == 6  # every event screened once
    assert await effect_counts(runtime.db) == {f"WANTED-{n}": 1 for n in range(3)}
    assert await applied_order(runtime) == [f"WANTED-{n}" for n in range(3)]
    records = await runtime.db["inbox"].find({"consumer": runtime.consumers[0].group_id}).to_list()
    assert sorted(r["subject"] for r in records) == [f"WANTED-{n}" for n in range(3)]


async def test_a_failing_screen_drops_nothing(runtime: ServiceRuntime) -> None:
    async def broken(events: list[tuple[Envelope, EventData]]) -> list[bool]:
        raise RuntimeError("the screen itself is broken")

    runtime.add_consumer([DOSSIER_EVENTS], ordered(runtime).screened_by(broken))
    events = [withdrawn(f"S-{n}") for n in range(4)]
    await publish_in_one_partition(runtime, events)

    assert await drain(runtime, 4) == 4

    assert await effect_counts(runtime.db) == {f"S-{n}": 1 for n in range(4)}
    assert await applied_order(runtime) == [f"S-{n}" for n in range(4)]


async def test_combined_registries_share_one_inbox_record_and_a_poison_goes_alone(
    runtime: ServiceRuntime,
) -> None:
    """Two concerns of one service on one group: each event is inbox-recorded once and
    has both parts' effects, in order, once; the first part's screen passing over an
    event the second wants does not drop it; an event one part cannot handle is
    dead-lettered alone, with neither part's effect."""
    runs: list[int] = []

    async def second(events: list[tuple[Envelope, DossierWithdrawn]], uow: UnitOfWork) -> None:
        runs.append(len(events))
        for envelope, event in events:
            if event.dossier_code == "BAD":
                raise RuntimeError("the second part cannot handle BAD")
            push = {"$push": {"codes": envelope.subject}}
            await runtime.db["second"].update_one(
                {"_id": "all"}, push, upsert=True, session=uow.session
            )

    async def screen(events: list[tuple[Envelope, EventData]]) -> list[bool]:
        return [not envelope.subject.startswith("QUIET") for envelope, _ in events]

    first = ordered(runtime).screened_by(screen)
    registry = combined(first, HandlerRegistry().on_batch([DossierWithdrawn], second))
    runtime.add_consumer([DOSSIER_EVENTS], registry)
    codes = ["C-0", "QUIET-1", "C-2", "BAD", "C-4", "C-5"]
    events = [withdrawn(code) for code in codes]
    await publish_in_one_partition(runtime, [*events, events[0]])  # the first one twice

    assert await drain(runtime, 7) == 7

    good = [code for code in codes if code != "BAD"]
    # The first part's handler gets what its screen passed over (it changes nothing
    # there; this one counts it to show it ran once).
    assert await effect_counts(runtime.db) == dict.fromkeys(good, 1)
    assert await applied_order(runtime) == good
    second_doc = await runtime.db["second"].find_one({"_id": "all"})
    assert second_doc is not None and second_doc["codes"] == good
    assert sum(runs) > len(codes)  # the batch was tried as a run first, then one by one
    group = runtime.consumers[0].group_id
    records = await runtime.db["inbox"].find({"consumer": group}).to_list()
    assert sorted(r["subject"] for r in records) == sorted(good)  # one record per event
    letters = await read_dead_letters(runtime.settings.kafka)
    assert [Envelope.from_bytes(letter.value).subject for letter in letters] == ["BAD"]


async def test_a_batch_too_long_for_one_transaction_goes_event_by_event(
    runtime: ServiceRuntime,
) -> None:
    """A run that outlasts the transaction timeout would time out at every retry: its
    events are then applied one by one, each once, in order (the store answers its ping)."""
    count = counting_handler(runtime.db)
    runs: list[int] = []

    async def slow_in_bulk(
        events: list[tuple[Envelope, DossierWithdrawn]], uow: UnitOfWork
    ) -> None:
        runs.append(len(events))
        if len(events) > 1:  # as the driver raises when the run's deadline has passed
            raise deadline_passed(NetworkTimeout("127.0.0.1:27017: timed out"))
        await count(events[0][1], uow)

    runtime.add_consumer(
        [DOSSIER_EVENTS], HandlerRegistry().on_batch([DossierWithdrawn], slow_in_bulk)
    )
    await publish_in_one_partition(runtime, [withdrawn(f"T-{n}") for n in range(4)])

    assert await drain(runtime, 4) == 4

    assert max(runs) > 1  # the run was tried whole first
    assert await effect_counts(runtime.db) == {f"T-{n}": 1 for n in range(4)}
    assert await read_dead_letters(runtime.settings.kafka) == []


async def test_a_store_out_of_reach_pauses_the_run_at_once(runtime: ServiceRuntime) -> None:
    """The deadline passed while the driver could not reach the store: an outage, so the
    whole run waits (no event is tried alone), and is applied once the store is back."""
    count = counting_handler(runtime.db)
    store = {"reachable": False}

    async def apply(event: DossierWithdrawn, uow: UnitOfWork) -> None:
        if not store["reachable"]:
            raise deadline_passed(ServerSelectionTimeoutError("Connect call failed"))
        await count(event, uow)

    runner = runtime.add_consumer([DOSSIER_EVENTS], on_withdrawn(apply))
    singles = count_one_by_one(runner)
    await publish_in_one_partition(runtime, [withdrawn(f"U-{n}") for n in range(4)])
    await runner.start()
    paused = 0
    for _ in range(60):  # bounded: until the run is fetched whole and fails
        try:
            await runner.process_batch(timeout_ms=500)
        except StoreUnavailable:
            paused += 1
            break

    assert paused == 1 and singles == []  # paused at once, nothing tried alone
    store["reachable"] = True
    assert await drain(runtime, 4) == 4
    assert singles == []
    assert await effect_counts(runtime.db) == {f"U-{n}": 1 for n in range(4)}


async def test_a_hung_store_is_an_outage_not_a_long_batch(
    common_settings: CommonSettings,
) -> None:
    """Replies held back by the store (through a proxy that delays them): the run's
    deadline passes waiting for a reply, as for a long run, but the store does not answer
    a ping either, so the run waits instead of going one by one."""
    proxy = LatencyProxy(target_port=int(common_settings.mongo.uri.split(":")[2].split("/")[0]))
    proxy.start()
    mongo = common_settings.mongo.model_copy(
        update={
            "uri": f"mongodb://127.0.0.1:{proxy.port}/?directConnection=true",
            "transaction_timeout_s": 1.0,
        }
    )
    settings = common_settings.model_copy(update={"mongo": mongo})
    try:
        async with service_runtime("hung", settings) as rt:
            runner = rt.add_consumer([DOSSIER_EVENTS], ordered(rt))
            singles = count_one_by_one(runner)
            await publish_in_one_partition(rt, [withdrawn(f"H-{n}") for n in range(4)])
            await runner.start()
            batch = await runner.consumer.getmany(timeout_ms=5000)  # wait for the records
            for tp, records in batch.items():
                runner.consumer.seek(tp, records[0].offset)
            proxy.delay_s = 3.0  # longer than the transaction and the ping may take
            with pytest.raises(StoreUnavailable):
                await runner.process_batch(timeout_ms=5000)
            proxy.delay_s = 0.0
            assert singles == []
            assert await drain(rt, 4) == 4
            assert await effect_counts(rt.db) == {f"H-{n}": 1 for n in range(4)}
    finally:
        proxy.delay_s = 0.0
        proxy.stop()
