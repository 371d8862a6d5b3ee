"""The transactional outbox: a broker outage delays events, never loses or repeats them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from opentelemetry import trace
from prometheus_client import REGISTRY as REGISTRY_METRICS

from chaos.servers import PrivateInfra
from shared.clock import ManualClock
from shared.events.dossier import DossierState
from shared.events.withdrawal import DossierWithdrawn
from shared.kafka.deadletter import read_dead_letters
from shared.mongo import outbox_entry
from shared.mongo.outbox_entry import EventTooLarge
from shared.runtime import CommonSettings, ServiceRuntime, service_runtime
from shared.settings import KafkaSettings, TelemetrySettings
from shared.telemetry.messaging import header_value
from shared.telemetry.tracing import configure_tracing
from shared.testing import envelopes, eventually, read_topic
from shared.topics import DOSSIER_EVENTS


@pytest.fixture
async def private_broker(tmp_path: Path) -> AsyncIterator[PrivateInfra]:
    broker = PrivateInfra("kafka", tmp_path / "local", timeout_s=180)
    await broker.start()
    try:
        yield broker
    finally:
        await broker.stop()


async def withdraw_in_transaction(rt: ServiceRuntime, code: str, steps: int) -> None:
    """A state change and its events, written together."""

    async with rt.unit_of_work() as uow:
        await rt.db["dossiers"].update_one(
            {"_id": code}, {"$set": {"state": "WITHDRAWN"}}, upsert=True, session=uow.session
        )
        for step in range(steps):
            uow.emit(
                DossierWithdrawn(
                    dossier_code=code,
                    state=DossierState.WITHDRAWN,
                    holding_unit="U",
                    withdrawn_at=rt.clock.now(),
                    reason=f"step {step}",
                )
            )


async def test_events_written_during_an_outage_are_published_once_in_order(
    common_settings: CommonSettings, private_broker: PrivateInfra
) -> None:
    kafka = KafkaSettings(
        bootstrap_servers=f"127.0.0.1:{private_broker.port}",
        topic_prefix=common_settings.kafka.topic_prefix,
        request_timeout_ms=3000,
    )
    settings = common_settings.model_copy(update={"kafka": kafka})
    async with service_runtime("outboxed", settings) as rt:
        await private_broker.stop()

        await withdraw_in_transaction(rt, "D-1", steps=3)

        assert await rt.db["dossiers"].find_one({"_id": "D-1"}) == {
            "_id": "D-1",
            "state": "WITHDRAWN",
        }
        assert await rt.outbox.count_pending() == 3  # accepted and stored, not yet published

        await private_broker.start()
        await eventually(lambda: _all_sent(rt), timeout=60)

    published = envelopes(await read_topic(kafka, DOSSIER_EVENTS, expect=3))
    assert [e.data["reason"] for e in published] == ["step 0", "step 1", "step 2"]


async def _all_sent(rt: ServiceRuntime) -> bool:
    return await rt.outbox.count_pending() == 0


async def test_relay_publishes_in_write_order_with_the_writers_trace(
    common_settings: CommonSettings,
) -> None:
    configure_tracing(TelemetrySettings(), "tests")
    async with service_runtime("outboxed", common_settings) as rt:
        with trace.get_tracer("tests").start_as_current_span("write") as span:
            for code in ("A", "B", "A", "C", "A"):
                await withdraw_in_transaction(rt, code, steps=1)
            trace_id = format(span.get_span_context().trace_id, "032x")
        await eventually(lambda: _all_sent(rt))
        entries = await rt.outbox.entries_for("A")
        seqs = [int(str(e["seq"])) for e in entries]
        assert seqs == sorted(seqs)
    records = await read_topic(common_settings.kafka, DOSSIER_EVENTS, expect=5)
    assert len({e.id for e in envelopes(records)}) == 5
    for record in records:
        traceparent = header_value(record.headers, "traceparent")
        assert traceparent is not None and traceparent.split("-")[1] == trace_id


async def test_a_full_batch_never_publishes_a_subjects_later_event_first(
    common_settings: CommonSettings,
) -> None:
    """Entries written at the same instant sort by id; ids here put A's later events first."""
    settings = common_settings.model_copy(
        update={"outbox": common_settings.outbox.model_copy(update={"batch_size": 2})}
    )
    clock = ManualClock(datetime(2026, 11, 26, 2, tzinfo=UTC))
    async with service_runtime("outboxed", settings, clock) as rt:
        rt.workers.stop_early(rt.relay)  # write everything first, then relay step by step
        for event_id, reason in [("9-a1", "A1"), ("1-a2", "A2"), ("0-a3", "A3"), ("5-b1", "B1")]:
            async with rt.unit_of_work() as uow:
                uow.emit(
                    DossierWithdrawn(
                        dossier_code=reason[0],
                        state=DossierState.WITHDRAWN,
                        holding_unit="U",
                        withdrawn_at=clock.now(),
                        reason=reason,
                    ),
                    event_id=event_id,
                )
        for _ in range(4):  # bounded: each scan must make progress
            await rt.relay.publish_pending()
        await rt.relay.flush_marks()
        assert await rt.outbox.count_pending() == 0
    published = envelopes(await read_topic(common_settings.kafka, DOSSIER_EVENTS, expect=4))
    reasons_of_a = [e.data["reason"] for e in published if e.subject == "A"]
    assert reasons_of_a == ["A1", "A2", "A3"]
    assert len(published) == 4


async def test_an_event_too_large_to_publish_is_refused_before_it_is_written(
    common_settings: CommonSettings,
) -> None:
    async with service_runtime("outboxed", common_settings) as rt:
        with pytest.raises(EventTooLarge):
            await withdraw_with_reason(rt, "B", "x" * 1_100_000)
        assert await rt.outbox.entries_for("B") == []


async def test_an_entry_the_broker_refuses_is_quarantined_and_later_events_flow(
    common_settings: CommonSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A record the broker refuses (here over the producer's 1 MB limit, the outbox's own
    bound set aside; in production a topic's smaller limit, say) can never be sent: it
    must not block the rest."""
    monkeypatch.setattr(outbox_entry, "MAX_EVENT_BYTES", 10_000_000)
    async with service_runtime("outboxed", common_settings) as rt:
        for reason in ("before", "x" * 1_100_000, "after"):
            await withdraw_with_reason(rt, "A", reason)
        await eventually(lambda: _all_sent(rt), timeout=30)
        entries = await rt.outbox.entries_for("A")
        assert [e["status"] for e in entries] == ["sent", "quarantined", "sent"]
        assert "MessageSizeTooLarge" in str(entries[1]["reason"])
        quarantined = REGISTRY_METRICS.get_sample_value(
            "lt_outbox_quarantined_total",
            {"service": "outboxed", "type": DossierWithdrawn.EVENT_TYPE},
        )
        assert quarantined is not None and quarantined >= 1

    published = envelopes(await read_topic(common_settings.kafka, DOSSIER_EVENTS, expect=2))
    # A batch cut short by the refusal may be sent again: at least once, consumers deduplicate.
    assert list(dict.fromkeys(e.data["reason"] for e in published)) == ["before", "after"]
    letters = await read_dead_letters(common_settings.kafka)
    assert len(letters) == 1
    letter = letters[0]
    assert letter.error_kind == "outbox_refused" and "MessageSizeTooLarge" in letter.error
    assert letter.value is None  # too large for the dead-letter topic too; the outbox keeps it
    assert header_value(letter.headers, "dlq_outbox_entry") == str(entries[1]["_id"])


async def withdraw_with_reason(rt: ServiceRuntime, code: str, reason: str) -> None:
    async with rt.unit_of_work() as uow:
        uow.emit(
            DossierWithdrawn(
                dossier_code=code,
                state=DossierState.WITHDRAWN,
                holding_unit="U",
                withdrawn_at=rt.clock.now(),
                reason=reason,
            )
        )


async def test_a_published_entry_is_kept_from_the_real_time_it_was_sent(
    common_settings: CommonSettings,
) -> None:
    """Retention (a TTL index on ``sent_at``) runs on the store's real clock: an entry
    written under a simulated clock long past is stamped sent with the real time, or the
    store would drop it at once."""
    long_ago = datetime(2026, 3, 2, 9, tzinfo=UTC)
    async with service_runtime("outboxed", common_settings, ManualClock(long_ago)) as rt:
        before = datetime.now(UTC)
        await withdraw_in_transaction(rt, "OLD", steps=1)
        await eventually(lambda: _all_sent(rt))
        [entry] = await rt.outbox.entries_for("OLD")
    created, sent = entry["created_at"], entry["sent_at"]
    assert isinstance(created, datetime) and isinstance(sent, datetime)
    assert created.replace(tzinfo=UTC) == long_ago
    assert sent.replace(tzinfo=UTC) >= before.replace(microsecond=0)
