"""The consumer runner against the real broker and store: inbox, retries, dead letters."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from pymongo.errors import NotPrimaryError, OperationFailure, WriteConcernError

from shared.envelope import Envelope
from shared.events.dossier import DossierState
from shared.events.registry import make_envelope
from shared.events.withdrawal import DossierWithdrawn
from shared.kafka.consumer import StoreUnavailable
from shared.kafka.deadletter import read_dead_letters, to_dead_letter
from shared.runtime import CommonSettings, ServiceRuntime, service_runtime
from shared.testing import read_topic
from shared.topics import DEAD_LETTERS, DOSSIER_EVENTS, topic_name
from shared.unit_of_work import UnitOfWork
from tests.integration.foundation.counting import (
    counting_handler,
    drain,
    effect_counts,
    failing_handler,
    on_withdrawn,
)


def withdrawn(code: str) -> Envelope:
    data = DossierWithdrawn(
        dossier_code=code,
        state=DossierState.WITHDRAWN,
        holding_unit="000.00.01.H59",
        withdrawn_at=datetime(2026, 11, 26, 9, tzinfo=UTC),
    )
    return make_envelope(data, source="/tests")


@pytest.fixture
async def runtime(common_settings: CommonSettings) -> AsyncIterator[ServiceRuntime]:
    async with service_runtime("counting", common_settings) as rt:
        yield rt


async def publish_raw(rt: ServiceRuntime, value: bytes, key: str) -> None:
    await rt.publisher.publish_raw(
        topic_name(rt.settings.kafka.topic_prefix, DOSSIER_EVENTS), value, key=key, headers=[]
    )


async def test_same_event_twice_has_one_effect(runtime: ServiceRuntime) -> None:
    runtime.add_consumer([DOSSIER_EVENTS], on_withdrawn(counting_handler(runtime.db)))
    event = withdrawn("A-1")
    await runtime.publisher.publish(event, DOSSIER_EVENTS)
    await runtime.publisher.publish(event, DOSSIER_EVENTS)

    assert await drain(runtime, 2) == 2
    assert await effect_counts(runtime.db) == {"A-1": 1}
    assert await runtime.inbox.seen(runtime.consumers[0].group_id, event.id)


async def test_failing_handler_dead_letters_and_consumer_goes_on(runtime: ServiceRuntime) -> None:
    db = runtime.db
    fail, count = failing_handler(db), counting_handler(db)

    async def by_subject(event: DossierWithdrawn, uow: UnitOfWork) -> None:
        await (fail if event.dossier_code == "BAD" else count)(event, uow)

    runtime.add_consumer([DOSSIER_EVENTS], on_withdrawn(by_subject))
    bad, good = withdrawn("BAD"), withdrawn("GOOD")
    await runtime.publisher.publish(bad, DOSSIER_EVENTS)
    await runtime.publisher.publish(good, DOSSIER_EVENTS)

    await drain(runtime, 2)

    assert await effect_counts(db) == {"GOOD": 1}
    assert await db["effects"].count_documents({"would_be": {"$exists": True}}) == 0  # rolled back
    letters = [
        to_dead_letter(r) for r in await read_topic(runtime.settings.kafka, DEAD_LETTERS, expect=1)
    ]
    assert len(letters) == 1
    letter = letters[0]
    assert Envelope.from_bytes(letter.value) == bad
    assert letter.key == "BAD"
    # dossier.events may carry personal data: the exception's class and where, no message.
    assert letter.error.startswith("RuntimeError at tests/integration/foundation/counting.py:")
    assert letter.error.endswith(" in fail: message withheld (personal data may be in it)")
    assert letter.error_redacted
    assert letter.error_kind == "handler_failed"
    assert letter.attempts == runtime.settings.consumer.max_attempts
    assert letter.original_topic == topic_name(runtime.settings.kafka.topic_prefix, DOSSIER_EVENTS)
    assert letter.consumer_group == runtime.consumers[0].group_id
    assert letter.original_offset >= 0


async def test_malformed_and_unknown_messages_are_dead_lettered(runtime: ServiceRuntime) -> None:
    runtime.add_consumer([DOSSIER_EVENTS], on_withdrawn(counting_handler(runtime.db)))
    unknown = withdrawn("X").model_copy(update={"type": "dossier.teleported.v1"})
    # All on one key, so one partition keeps them in this order.
    await publish_raw(runtime, b"\xff\xfenot json", "K")
    await publish_raw(runtime, b'{"id": "only-an-id"}', "K")
    await publish_raw(runtime, unknown.to_bytes(), "K")
    await publish_raw(runtime, withdrawn("K").to_bytes(), "K")

    await drain(runtime, 4)

    assert await effect_counts(runtime.db) == {"K": 1}
    letters = await read_dead_letters(runtime.settings.kafka)
    reasons = sorted(letter.error for letter in letters)
    assert len(letters) == 3
    assert all(letter.error_kind == "malformed" for letter in letters)
    assert any("(root) [json_invalid] Invalid JSON" in r for r in reasons)
    assert any("source [missing] Field required" in r for r in reasons)
    assert any("unknown event type 'dossier.teleported.v1'" in r for r in reasons)


async def test_a_failed_events_personal_values_stay_out_of_logs_and_its_dead_letter(
    runtime: ServiceRuntime, caplog: pytest.LogCaptureFixture
) -> None:
    """A handler's exception quoting an applicant (its name, e-mail, phone) is logged above
    DEBUG and dead-lettered as its class and where it was raised, in a run or alone."""
    name, email, phone = "Nguyễn Thị Hoa", "hoa.nguyen@example.vn", "0912345678"
    count = counting_handler(runtime.db)

    async def quoting(event: DossierWithdrawn, uow: UnitOfWork) -> None:
        if event.dossier_code == "BAD":
            raise ValueError(f"no contact for {name} <{email}>, tel. {phone}")
        await count(event, uow)

    runtime.add_consumer([DOSSIER_EVENTS], on_withdrawn(quoting))
    for code in ("GOOD-1", "BAD", "GOOD-2"):  # on one partition each: a run, then one by one
        await runtime.publisher.publish(withdrawn(code), DOSSIER_EVENTS)
    with caplog.at_level(logging.DEBUG):
        await drain(runtime, 3)
    [letter] = await read_dead_letters(runtime.settings.kafka)

    assert letter.error.startswith("ValueError at tests/integration/foundation/")
    assert " in quoting: message withheld" in letter.error
    above_debug = [r for r in caplog.records if r.levelno > logging.DEBUG]
    failed = [r for r in above_debug if r.getMessage() == "handler failed; dead-lettering"]
    assert [r.__dict__["error"] for r in failed] == [letter.error]
    for record in above_debug:
        text = f"{record.__dict__} {record.exc_text} {record.exc_info}"
        for value in (name, email, phone):
            assert value not in text, (record.getMessage(), value)
    # The whole error is there for whoever debugs, at DEBUG (never on in production).
    assert any(name in str(r.exc_info) for r in caplog.records if r.levelno == logging.DEBUG)


async def test_replayed_dead_letter_is_handled_once_fixed(runtime: ServiceRuntime) -> None:
    from shared.kafka.deadletter import replay

    broken = {"on": True}
    count = counting_handler(runtime.db)

    async def flaky(event: DossierWithdrawn, uow: UnitOfWork) -> None:
        if broken["on"]:
            raise RuntimeError("dependency down")
        await count(event, uow)

    runtime.add_consumer([DOSSIER_EVENTS], on_withdrawn(flaky))
    await runtime.publisher.publish(withdrawn("R-1"), DOSSIER_EVENTS)
    await drain(runtime, 1)
    [letter] = await read_dead_letters(runtime.settings.kafka)

    broken["on"] = False
    await replay(letter, runtime.publisher)
    await drain(runtime, 1)
    assert await effect_counts(runtime.db) == {"R-1": 1}


async def test_a_rebalance_hands_over_partitions_without_redelivery(
    runtime: ServiceRuntime,
) -> None:
    """The first member commits what it handled before its partitions move to the second."""
    deliveries: list[str] = []
    handlers = on_withdrawn(counting_handler(runtime.db))
    first = runtime.add_consumer([DOSSIER_EVENTS], handlers)
    second = runtime.add_consumer([DOSSIER_EVENTS], handlers)
    for runner in (first, second):
        decode = runner.decode

        def delivered(record, decode=decode):  # type: ignore[no-untyped-def]
            deliveries.append(record.key.decode())
            return decode(record)

        runner.decode = delivered  # type: ignore[method-assign]
    for n in range(12):
        await runtime.publisher.publish(withdrawn(f"B-{n}"), DOSSIER_EVENTS)
    await first.start()
    commit = first.commit_processed

    async def not_yet(only: object) -> None:  # handled, but left for the revoke to commit
        return None

    first.commit_processed = not_yet  # type: ignore[method-assign]
    for _ in range(40):
        await first.process_batch(timeout_ms=200)
        if len(deliveries) >= 12:
            break
    assert first.uncommitted == 12  # all handled, none committed yet
    first.commit_processed = commit  # type: ignore[method-assign]

    await second.start()
    for _ in range(100):  # the first member rejoins in the background; only the second polls
        await second.process_batch(timeout_ms=100)
        if second.consumer.assignment():
            break
    moved = second.consumer.assignment()
    assert moved and first.consumer.assignment().isdisjoint(moved)
    # What the first member handled on the partitions it lost was committed as they were
    # revoked: the second member starts at their ends and gets nothing again.
    ends = await second.consumer.end_offsets(list(moved))
    assert {tp: await second.consumer.position(tp) for tp in moved} == ends
    assert sorted(deliveries) == sorted(f"B-{n}" for n in range(12))
    assert await effect_counts(runtime.db) == {f"B-{n}": 1 for n in range(12)}


@pytest.mark.parametrize(
    "store_error",
    [
        NotPrimaryError("not writable primary"),
        WriteConcernError("waiting for replication timed out", 64, {}),
        OperationFailure("not primary", 10107),
    ],
    ids=["not-primary", "write-concern", "not-writable-primary-code"],
)
async def test_store_errors_pause_the_record_and_never_dead_letter_it(
    runtime: ServiceRuntime, store_error: Exception
) -> None:
    """More failures than the attempts allowed: a message's error would be dead-lettered."""
    count = counting_handler(runtime.db)
    failures = runtime.settings.consumer.max_attempts + 2

    async def store_in_trouble(event: DossierWithdrawn, uow: UnitOfWork) -> None:
        nonlocal failures
        if failures > 0:
            failures -= 1
            raise store_error
        await count(event, uow)

    runner = runtime.add_consumer([DOSSIER_EVENTS], on_withdrawn(store_in_trouble))
    await runtime.publisher.publish(withdrawn("W-1"), DOSSIER_EVENTS)
    await runner.start()
    handled = 0
    for _ in range(60):  # bounded: each failed batch is rewound and fetched again
        try:
            handled += await runner.process_batch(timeout_ms=500)
        except StoreUnavailable:
            continue
        if handled:
            break

    assert failures == 0 and handled == 1
    assert await effect_counts(runtime.db) == {"W-1": 1}
    assert await read_dead_letters(runtime.settings.kafka) == []
