"""Telemetry of a real journey: the four services in one process against the real broker
and store, one dossier submitted at intake and carried to DONE by unit actions.

The spans (in-memory exporter) form one trace: intake's HTTP request, the relay's
``send`` spans, every consumer's ``process`` spans in routing, notification, audit and
intake, routing's actions and notification's e-mail deliveries. The log lines written
inside carry that trace's id, and ``/metrics`` names the events by registered type.
"""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from audit.config import AuditLogSettings, AuditSettings
from audit.main import create_app as audit_app
from intake.config import IntakeSettings
from intake.main import create_app as intake_app
from notification.config import NotificationSettings, SmtpSettings
from notification.main import create_app as notification_app
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from prometheus_client.parser import text_string_to_metric_families
from routing.config import RoutingOptions, RoutingSettings
from routing.main import create_app as routing_app

from infra.demo import DEMO, next_action, submission
from shared.events.dossier import DossierState
from shared.runtime import CommonSettings
from shared.settings import TelemetrySettings
from shared.telemetry.logs import configure_logging
from shared.testing import ActAs, capture_spans, eventually, running_app

ROOT = Path(__file__).resolve().parents[3]
RICE_LAND = DEMO[1]  # commune → district → province → back
# Who each service's client acts as (a body naming a unit: that unit's agency client).
CALLERS = {"intake": "desk", "routing": "operations", "notification": "admin", "audit": "auditor"}


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    stream = io.StringIO()
    configure_logging(TelemetrySettings(json_logs=True), "journey")
    root.handlers[0].setStream(stream)  # type: ignore[attr-defined]
    try:
        yield stream
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)


@pytest.fixture
def spans() -> InMemorySpanExporter:
    """Installed before the services start, as ``serve`` does (PyMongo's listener is
    registered on clients created afterwards)."""
    return capture_spans()


@pytest.fixture
async def services(
    spans: InMemorySpanExporter, common_settings: CommonSettings, smtp_port: int, tmp_path: Path
) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    common = common_settings.model_dump()
    apps = {
        "intake": intake_app(IntakeSettings(**common)),
        "routing": routing_app(
            RoutingSettings(**common, routing=RoutingOptions(overdue_scan_seconds=0.2))
        ),
        "notification": notification_app(
            NotificationSettings(
                **common, smtp=SmtpSettings(host="127.0.0.1", port=smtp_port, timeout_s=5)
            )
        ),
        "audit": audit_app(
            AuditSettings(**common, audit=AuditLogSettings(signing_key_path=tmp_path / "k.pem"))
        ),
    }
    async with AsyncExitStack() as stack:
        yield {
            name: await stack.enter_async_context(running_app(app, ActAs(CALLERS[name])))
            for name, app in apps.items()
        }


async def drive_to_done(routing: httpx.AsyncClient, code: str) -> None:
    async def routed() -> Any:
        response = await routing.get(f"/v1/dossiers/{code}")
        return response.json() if response.status_code == 200 else None

    view = await eventually(routed)
    while (action := next_action(view)) is not None:
        response = await routing.post(f"/v1/dossiers/{code}/{action[0]}", json=action[1])
        assert response.status_code == 200, response.text
        view = (await routing.get(f"/v1/dossiers/{code}")).json()


def in_trace(spans: list[ReadableSpan], trace_id: int) -> list[ReadableSpan]:
    return [s for s in spans if s.context is not None and s.context.trace_id == trace_id]


def samples(text: str, name: str) -> list[dict[str, Any]]:
    return [
        {**sample.labels, "value": sample.value}
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    ]


async def test_one_trace_per_journey_with_logs_and_metrics(
    services: dict[str, httpx.AsyncClient],
    spans: InMemorySpanExporter,
    common_settings: CommonSettings,
    log_lines: io.StringIO,
) -> None:
    intake, routing = services["intake"], services["routing"]
    response = await intake.post("/v1/dossiers", json=submission(RICE_LAND, 7))
    assert response.status_code == 201, response.text
    code = response.json()["code"]
    await drive_to_done(routing, code)

    def finished() -> list[ReadableSpan]:
        return list(spans.get_finished_spans())

    def root_of_journey() -> ReadableSpan | None:
        return next((s for s in finished() if s.kind is SpanKind.SERVER and "POST" in s.name), None)

    root = await eventually(lambda: _value(root_of_journey()))
    assert root.context is not None
    trace_id = root.context.trace_id
    prefix = common_settings.kafka.topic_prefix

    def journey_complete() -> list[ReadableSpan] | None:
        journey = in_trace(finished(), trace_id)
        groups = {
            s.attributes.get("messaging.consumer.group.name") for s in journey if s.attributes
        }
        logged = any(  # audit appended events of this journey
            s.attributes
            and s.attributes.get("messaging.consumer.group.name") == f"{prefix}audit"
            and s.attributes.get("dossier.code") == code
            for s in journey
        )
        delivered = any(s.name == "deliver email" for s in journey)
        wanted = {f"{prefix}{name}" for name in ("routing", "notification", "audit", "intake")}
        return journey if wanted <= groups and logged and delivered else None

    journey = await eventually(lambda: _value(journey_complete()), timeout=90)
    names = {s.name for s in journey}
    events = f"{prefix}dossier.events"
    assert f"send {events}" in names and f"process {events}" in names
    assert f"send {prefix}notification.events" in names
    assert any(n.startswith("routing command.transfer.accept") for n in names)
    sends = [s for s in journey if s.name == f"send {events}"]
    assert all(s.kind is SpanKind.PRODUCER for s in sends)
    process = [s for s in journey if s.name == f"process {events}"]
    assert all(s.kind is SpanKind.CONSUMER for s in process)
    received = [
        s
        for s in process
        if s.attributes
        and str(s.attributes["cloudevents.event_type"]).startswith("dossier.received.")
    ]
    assert received and all(s.attributes and s.attributes["dossier.code"] == code for s in received)
    assert all(
        s.attributes
        and s.attributes["messaging.system"] == "kafka"
        and "messaging.kafka.offset" in s.attributes
        for s in process
    )
    # Each routing action is in the journey, linked to the HTTP request that asked for it.
    actions = [s for s in journey if s.name.startswith("routing command.")]
    assert actions and all(s.links for s in actions)
    # PyMongo's instrumentation: the store's commands are spans of the same trace.
    assert any(s.attributes and s.attributes.get("db.system") == "mongodb" for s in journey)

    # Log lines written inside the journey carry its trace id.
    lines = [json.loads(line) for line in log_lines.getvalue().splitlines() if line.startswith("{")]
    traced = [line for line in lines if line.get("trace_id") == format(trace_id, "032x")]
    assert any(line["message"] == "notifications recorded" for line in traced)

    # Metrics, with registered event types as labels.
    text = (await routing.get("/metrics")).text
    consumed = samples(text, "lt_events_handled_total")
    assert any(
        s["service"] == "routing"
        and s["type"].startswith("dossier.received.")
        and s["outcome"] == "handled"
        and s["topic"] == events
        and s["value"] >= 1
        for s in consumed
    )
    produced = samples(text, "lt_events_published_total")
    assert any(
        s["service"] == "routing"
        and s["type"] == "dossier.transfer.requested.v1"
        and s["value"] >= 3
        for s in produced
    )
    assert any(
        s["service"] == "notification" and s["type"] == "notification.sent.v1" for s in produced
    )
    assert {s["type"] for s in consumed} <= {*_registered(), "unknown"}
    assert samples(text, "lt_handler_seconds_count")
    assert any(s["service"] == "routing" for s in samples(text, "lt_outbox_oldest_age_seconds"))

    async def lag_reported() -> bool | None:
        """The lag is asked of the broker on its own clock (every second): wait for it."""
        scraped = (await routing.get("/metrics")).text
        return any(s["service"] == "routing" for s in samples(scraped, "lt_consumer_lag")) or None

    assert await eventually(lag_reported)
    http = samples(text, "lt_http_requests_total")
    assert any(
        s["service"] == "intake"
        and s["route"] == "/v1/dossiers"
        and s["method"] == "POST"
        and s["status"] == "201"
        for s in http
    )

    async def dossier_gauges() -> dict[str, float] | None:
        text = (await routing.get("/metrics")).text
        gauges = {s["state"]: s["value"] for s in samples(text, "lt_dossiers")}
        return gauges if gauges.get("DONE", 0) >= 1 else None

    gauges = await eventually(dossier_gauges)
    assert gauges["PROCESSING"] == 0 and set(gauges) == {s.value for s in DossierState}
    assert {s["kind"] for s in samples(text, "lt_dossiers_overdue")} == {"step", "dossier"}

    # Every metric an alert rule reads is in a real scrape (the four services share this
    # process's registry): a rule on a name nobody exports would never fire.
    rules = yaml.safe_load((ROOT / "infra/observability/alerts.yml").read_text())
    exprs = [rule["expr"] for rule in rules["groups"][0]["rules"]]
    watched = {name for expr in exprs for name in re.findall(r"\blt_\w+", expr)}
    text = (await routing.get("/metrics")).text
    exported = {sample.name for f in text_string_to_metric_families(text) for sample in f.samples}
    assert watched <= exported, watched - exported


def _registered() -> set[str]:
    from shared.events.registry import REGISTRY

    return set(REGISTRY)


async def _value(value: Any) -> Any:
    return value
