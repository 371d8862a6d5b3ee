"""Behaviour across processes: publish from one process, crash another before it commits."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from shared.envelope import Envelope
from shared.events.dossier import DossierState
from shared.events.registry import make_envelope
from shared.events.withdrawal import DossierWithdrawn
from shared.runtime import CommonSettings, service_runtime
from shared.telemetry.messaging import header_value
from shared.testing import read_topic
from shared.topics import DOSSIER_EVENTS
from shared.unit_of_work import UnitOfWork
from tests.integration.foundation.counting import counting_handler, effect_counts, on_withdrawn

ROOT = Path(__file__).resolve().parents[3]


async def run_module(module: str, *args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        module,
        *args,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    assert proc.returncode is not None
    if proc.returncode not in (0, 17):
        raise AssertionError(f"{module} failed ({proc.returncode}): {err.decode()[-2000:]}")
    return proc.returncode, out.decode()


async def test_event_from_another_process_arrives_intact(common_settings: CommonSettings) -> None:
    code = "000.00.01.H59-261126-0001"
    _, out = await run_module(
        "tests.integration.foundation.proc_publish", common_settings.kafka.topic_prefix, code
    )
    sent = json.loads(out.strip().splitlines()[-1])

    seen: list[tuple[Envelope, str | None]] = []
    async with service_runtime("other-group", common_settings) as rt:

        async def remember(event: DossierWithdrawn, uow: UnitOfWork) -> None:
            seen.append((uow.envelope, None))

        runner = rt.add_consumer([DOSSIER_EVENTS], on_withdrawn(remember))
        await runner.start()
        batch_records = []
        for _ in range(40):
            batch = await runner.consumer.getmany(timeout_ms=500)
            for records in batch.values():
                for record in records:
                    batch_records.append(record)
                    await runner.handle_record(record)
            if batch_records:
                break

    [record] = batch_records
    [(envelope, _)] = seen
    assert envelope == Envelope.model_validate(sent["envelope"])
    assert record.key == code.encode()
    assert header_value(record.headers, "ce_type") == DossierWithdrawn.EVENT_TYPE
    assert header_value(record.headers, "ce_id") == envelope.id
    traceparent = header_value(record.headers, "traceparent")
    assert traceparent is not None and traceparent.split("-")[1] == sent["trace_id"]


async def test_consumer_killed_before_commit_is_replayed_without_double_effect(
    common_settings: CommonSettings,
) -> None:
    codes = [f"C-{i}" for i in range(5)]
    async with service_runtime("publisher", common_settings) as rt:
        for code in codes:
            await rt.publisher.publish(
                make_envelope(
                    DossierWithdrawn(
                        dossier_code=code,
                        state=DossierState.WITHDRAWN,
                        holding_unit="U",
                        withdrawn_at=rt.clock.now(),
                    ),
                    source="/tests",
                ),
                DOSSIER_EVENTS,
            )

    status, out = await run_module(
        "tests.integration.foundation.proc_crash_consumer",
        common_settings.kafka.topic_prefix,
        common_settings.mongo.database_prefix,
        "5",
    )
    assert status == 17 and "killed before commit" in out

    async with service_runtime("counting", common_settings) as rt:
        assert await effect_counts(rt.db) == {code: 1 for code in codes}  # stored before the crash
        runner = rt.add_consumer([DOSSIER_EVENTS], on_withdrawn(counting_handler(rt.db)))
        await runner.start()
        redelivered = 0
        for _ in range(60):
            redelivered += await runner.process_batch(timeout_ms=500)
            if redelivered >= 5:
                break
        assert redelivered == 5  # nothing was committed, so the group gets them all again
        assert await effect_counts(rt.db) == {code: 1 for code in codes}  # and changes nothing
    assert len(await read_topic(common_settings.kafka, DOSSIER_EVENTS, expect=5)) == 5
