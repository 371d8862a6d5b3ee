"""The relay publishes what units of work hand over without reading it back, in order.

Against the real broker and store: order per subject with concurrent writers, a gap and
another writer's entries go through a store read, nothing is published twice in the
normal path, marks are written in batches (counted by a PyMongo command listener), and
a relay that dies before its marks publishes those events again while consumers still
apply each once.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import UTC, datetime

from shared.events.dossier import DossierState
from shared.events.registry import make_envelope
from shared.events.withdrawal import DossierWithdrawn
from shared.mongo.client import Session, mongo_client, run_in_transaction, service_database
from shared.mongo.outbox import Outbox
from shared.runtime import CommonSettings, ServiceRuntime, service_runtime
from shared.testing import envelopes, eventually, read_topic
from shared.topics import DOSSIER_EVENTS
from tests.integration.foundation.counting import (
    counting_handler,
    drain,
    effect_counts,
    emit_withdrawn,
    on_withdrawn,
)
from tests.integration.foundation.outbox_commands import listen_to_outbox
from tests.integration.foundation.test_processes import run_module

SERVICE = "outboxed"


def relay_settings(common: CommonSettings, **outbox: float) -> CommonSettings:
    return common.model_copy(update={"outbox": common.outbox.model_copy(update=outbox)})


async def all_sent(rt: ServiceRuntime) -> bool:
    return await rt.outbox.count_pending() == 0


async def test_concurrent_writers_publish_each_subject_in_order_without_reading_back(
    common_settings: CommonSettings,
) -> None:
    """Three writers per subject race for its sequence; the topic shows it in order, once."""
    # No periodic read: after the start, only a gap could make the relay read the outbox.
    settings = relay_settings(common_settings, poll_interval_s=600)
    commands = listen_to_outbox(settings.mongo.database_prefix)
    subjects, writers, events = [f"S-{i}" for i in range(6)], 3, 4
    total = len(subjects) * writers * events
    async with service_runtime(SERVICE, settings) as rt:
        await eventually(lambda: _true(commands.relay_reads >= 1))  # the start's read
        reads_at_start = commands.relay_reads

        async def write(subject: str, writer: int) -> None:
            for step in range(events):
                await emit_withdrawn(rt, subject, f"{writer}.{step}")

        await asyncio.gather(*(write(s, w) for s in subjects for w in range(writers)))
        records = await read_topic(settings.kafka, DOSSIER_EVENTS, expect=total)
        seq_of = {
            str(entry["_id"]): int(str(entry["seq"]))
            for subject in subjects
            for entry in await rt.outbox.entries_for(subject)
        }
        gap_reads = commands.relay_reads - reads_at_start
    published = envelopes(records)
    assert len(published) == total and len({e.id for e in published}) == total  # none twice
    seqs: dict[str, list[int]] = defaultdict(list)
    for envelope in published:
        seqs[envelope.subject].append(seq_of[envelope.id])
    assert all(order == list(range(1, writers * events + 1)) for order in seqs.values())
    # Racing writers may hand a subject's entries over out of commit order (a gap, read
    # from the store); most go out from memory.
    assert gap_reads < total / 4


async def _true(value: bool) -> bool:
    return value


async def test_two_instances_writing_the_same_subjects_publish_each_in_order_once(
    common_settings: CommonSettings,
) -> None:
    """Only the lease holder publishes: its own entries from memory, the other's (and
    those after a gap the other left) through store reads, each subject in order."""
    subjects, events = [f"T-{i}" for i in range(4)], 6
    total = len(subjects) * events * 2
    async with (
        service_runtime(SERVICE, common_settings) as first,
        service_runtime(SERVICE, common_settings) as second,
    ):

        async def write(rt: ServiceRuntime, subject: str, name: str) -> None:
            for step in range(events):
                await emit_withdrawn(rt, subject, f"{name}.{step}")

        await asyncio.gather(
            *(write(rt, s, name) for s in subjects for rt, name in ((first, "1"), (second, "2")))
        )
        records = await read_topic(common_settings.kafka, DOSSIER_EVENTS, expect=total)
        seq_of = {
            str(entry["_id"]): int(str(entry["seq"]))
            for subject in subjects
            for entry in await first.outbox.entries_for(subject)
        }
    published = envelopes(records)
    assert len(published) == total and len({e.id for e in published}) == total
    seqs: dict[str, list[int]] = defaultdict(list)
    for envelope in published:
        seqs[envelope.subject].append(seq_of[envelope.id])
    assert all(order == list(range(1, 2 * events + 1)) for order in seqs.values())


async def test_a_gap_left_by_another_writer_is_published_first_through_the_store(
    common_settings: CommonSettings,
) -> None:
    settings = relay_settings(common_settings, poll_interval_s=600)
    commands = listen_to_outbox(settings.mongo.database_prefix)
    async with service_runtime(SERVICE, settings) as rt:
        await eventually(lambda: _true(commands.relay_reads >= 1))  # the start's read
        await write_straight_into_the_outbox(settings, "G", "from elsewhere")  # G's seq 1
        await emit_withdrawn(rt, "G", "handed over")  # seq 2: a gap for this relay
        await eventually(lambda: all_sent(rt))
    # With no periodic read, only the read the gap called for could publish seq 1.
    published = envelopes(await read_topic(settings.kafka, DOSSIER_EVENTS, expect=2))
    assert [e.data["reason"] for e in published] == ["from elsewhere", "handed over"]


async def test_entries_another_process_writes_are_published_by_the_periodic_read(
    common_settings: CommonSettings,
) -> None:
    settings = relay_settings(common_settings, poll_interval_s=0.25)
    async with service_runtime(SERVICE, settings) as rt:
        for reason in ("one", "two"):
            await write_straight_into_the_outbox(settings, "F", reason)
        await eventually(lambda: all_sent(rt))
        await emit_withdrawn(rt, "F", "three")  # after them, from memory
        await eventually(lambda: all_sent(rt))
    published = envelopes(await read_topic(settings.kafka, DOSSIER_EVENTS, expect=3))
    assert [e.data["reason"] for e in published] == ["one", "two", "three"]


async def write_straight_into_the_outbox(settings: CommonSettings, code: str, reason: str) -> None:
    """An entry written by another process (another instance, a script): never handed over."""
    event = make_envelope(
        DossierWithdrawn(
            dossier_code=code,
            state=DossierState.WITHDRAWN,
            holding_unit="U",
            withdrawn_at=datetime.now(UTC),
            reason=reason,
        ),
        source="/tests/elsewhere",
    )
    async with mongo_client(settings.mongo, "elsewhere") as client:
        outbox = Outbox(service_database(client, settings.mongo, SERVICE))

        async def write(session: Session) -> None:
            await outbox.add(event, session, datetime.now(UTC))

        await run_in_transaction(client, write)


async def test_marks_are_written_in_batches(common_settings: CommonSettings) -> None:
    settings = relay_settings(
        common_settings, poll_interval_s=600, mark_sent_linger_s=600, batch_size=10
    )
    commands = listen_to_outbox(settings.mongo.database_prefix)
    async with service_runtime(SERVICE, settings) as rt:
        for index in range(25):
            await emit_withdrawn(rt, f"M-{index % 5}", str(index))
        await read_topic(settings.kafka, DOSSIER_EVENTS, expect=25)
        before_stop = list(commands.marks)
    after_stop = commands.marks
    # Before the stop, a mark is written only once a batch (10) is full; the stop writes
    # the rest: at most three update_many round trips for 25 events, every id once.
    assert all(len(ids) >= 10 for ids in before_stop) and len(before_stop) <= 2
    assert len(after_stop) <= 3
    assert sorted(i for ids in after_stop for i in ids) == sorted(
        e.id for e in envelopes(await read_topic(settings.kafka, DOSSIER_EVENTS, expect=25))
    )


async def test_a_relay_killed_before_its_marks_publishes_again_and_effects_stay_single(
    common_settings: CommonSettings,
) -> None:
    status, out = await run_module(
        "tests.integration.foundation.proc_relay_crash",
        common_settings.kafka.topic_prefix,
        common_settings.mongo.database_prefix,
        "relaycrash",
        "5",
    )
    assert status == 17 and "published 5, pending 5" in out

    async with service_runtime("relaycrash", common_settings) as rt:
        rt.add_consumer([DOSSIER_EVENTS], on_withdrawn(counting_handler(rt.db)))
        assert await drain(rt, expected=10) >= 10  # the five, and the five again
        await eventually(lambda: all_sent(rt))
        assert await effect_counts(rt.db) == {f"K-{i}": 1 for i in range(5)}
    published = envelopes(await read_topic(common_settings.kafka, DOSSIER_EVENTS, expect=10))
    assert len(published) == 10 and len({e.id for e in published}) == 5
