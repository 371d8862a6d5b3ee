"""Run as a separate process: publish one event inside a trace span, print what was sent."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime

from opentelemetry import trace

from shared.events.dossier import DossierState
from shared.events.registry import make_envelope
from shared.events.withdrawal import DossierWithdrawn
from shared.kafka.publisher import kafka_publisher
from shared.settings import KafkaSettings, TelemetrySettings
from shared.telemetry.tracing import configure_tracing
from shared.topics import DOSSIER_EVENTS


async def main(prefix: str, code: str) -> None:
    configure_tracing(TelemetrySettings(), "proc-publish")
    event = make_envelope(
        DossierWithdrawn(
            dossier_code=code,
            state=DossierState.WITHDRAWN,
            holding_unit="U-1",
            withdrawn_at=datetime.now(UTC),
        ),
        source="/tests/proc-publish",
    )
    async with kafka_publisher(KafkaSettings(topic_prefix=prefix), "proc-publish") as publisher:
        with trace.get_tracer("proc").start_as_current_span("publish") as span:
            await publisher.publish(event, DOSSIER_EVENTS)
            trace_id = format(span.get_span_context().trace_id, "032x")
    print(json.dumps({"envelope": event.model_dump(mode="json"), "trace_id": trace_id}))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
