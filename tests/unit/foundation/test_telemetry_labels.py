"""Telemetry without servers: trace ids on log lines, bounded labels, HTTP metrics, and the
messaging attributes of Kafka spans."""

from __future__ import annotations

import io
import json
import logging

import httpx
from fastapi import FastAPI
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import REGISTRY as METRICS

from shared.http import HttpMetrics
from shared.settings import TelemetrySettings
from shared.telemetry.logs import configure_logging
from shared.telemetry.messaging import messaging_attributes
from shared.telemetry.metrics import event_type_label


def test_a_log_line_inside_a_span_carries_its_trace_and_span_ids() -> None:
    tracer = TracerProvider().get_tracer("tests")
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    stream = io.StringIO()
    try:
        configure_logging(TelemetrySettings(json_logs=True), "intake")
        root.handlers[0].setStream(stream)  # type: ignore[attr-defined]
        with tracer.start_as_current_span("submit") as span:
            logging.getLogger("intake.api").info("dossier received")
            expected = span.get_span_context()
        logging.getLogger("intake.api").info("outside any span")
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
    inside, outside = (json.loads(line) for line in stream.getvalue().splitlines())
    assert inside["trace_id"] == format(expected.trace_id, "032x")
    assert inside["span_id"] == format(expected.span_id, "016x")
    assert outside["trace_id"] == "" and outside["span_id"] == ""
    assert not any(key.startswith("otel") for key in inside)


def test_event_type_labels_come_only_from_the_registry() -> None:
    assert event_type_label("dossier.received.v1") == "dossier.received.v1"
    assert event_type_label("junk.from.somebody.v9") == "unknown"
    assert event_type_label(None) == "unknown"


def test_kafka_span_attributes_follow_the_messaging_conventions() -> None:
    attributes = messaging_attributes(
        operation="process",
        topic="dossier.events",
        message_id="e-1",
        key="000.00.01.H59-261130-0001",
        event_type="made.up.v1",
        partition=2,
        offset=41,
        group="routing",
    )
    assert attributes["messaging.system"] == "kafka"
    assert attributes["messaging.operation.type"] == "process"
    assert attributes["messaging.destination.name"] == "dossier.events"
    assert attributes["messaging.destination.partition.id"] == "2"
    assert attributes["messaging.kafka.offset"] == 41
    assert attributes["messaging.consumer.group.name"] == "routing"
    assert attributes["messaging.kafka.message.key"] == "000.00.01.H59-261130-0001"
    assert attributes["cloudevents.event_type"] == "unknown"


async def test_http_metrics_count_by_route_template_not_by_path() -> None:
    app = FastAPI()
    app.add_middleware(HttpMetrics)

    @app.get("/v1/things/{code}")
    async def thing(code: str) -> dict[str, str]:
        return {"code": code}

    def count(route: str, status: str) -> float:
        labels = {"service": "", "method": "GET", "route": route, "status": status}
        return METRICS.get_sample_value("lt_http_requests_total", labels) or 0.0

    before_ok, before_unmatched = count("/v1/things/{code}", "200"), count("unmatched", "404")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.get("/v1/things/A-1")).status_code == 200
        assert (await client.get("/v1/things/B-2")).status_code == 200
        assert (await client.get("/elsewhere")).status_code == 404
    assert count("/v1/things/{code}", "200") == before_ok + 2
    assert count("unmatched", "404") == before_unmatched + 1
