"""Telemetry: JSON logs, OpenTelemetry tracing with context carried in Kafka headers,
and the Prometheus metrics every service exposes.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Sequence

from opentelemetry import context, propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from prometheus_client import Counter, Gauge, Histogram
from pythonjsonlogger.json import JsonFormatter

from shared.settings import TelemetrySettings

KafkaHeaders = list[tuple[str, bytes]]

EVENTS_PUBLISHED = Counter(
    "lt_events_published_total", "Events published to Kafka.", ["service", "topic", "type"]
)
EVENTS_HANDLED = Counter(
    "lt_events_handled_total",
    "Messages handled by a consumer, by outcome (handled, duplicate, dead_lettered).",
    ["service", "topic", "type", "outcome"],
)
HANDLER_SECONDS = Histogram(
    "lt_handler_seconds", "Time to handle one message, retries included.", ["service", "type"]
)
OUTBOX_PENDING = Gauge("lt_outbox_pending", "Outbox entries not yet published.", ["service"])
OUTBOX_QUARANTINED = Counter(
    "lt_outbox_quarantined_total",
    "Outbox entries the broker refused (e.g. too large), moved to a dead letter.",
    ["service", "type"],
)
CONSUMER_LAG = Gauge(
    "lt_consumer_lag",
    "Records behind the end of each partition.",
    ["service", "topic", "partition"],
)


def configure_logging(settings: TelemetrySettings, service: str) -> None:
    """Route all logging to stdout, one JSON object per line when configured."""
    handler = logging.StreamHandler(sys.stdout)
    if settings.json_logs:
        handler.setFormatter(
            JsonFormatter(
                "{levelname}{name}{message}",
                style="{",
                timestamp="time",  # ISO 8601 in UTC with milliseconds
                rename_fields={"levelname": "level", "name": "logger"},
                static_fields={"service": service},
            )
        )
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    logging.getLogger("pymongo").setLevel(logging.WARNING)


def configure_tracing(settings: TelemetrySettings, service: str) -> TracerProvider:
    """Install a tracer provider for the service; export over OTLP/HTTP when configured."""
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    if settings.otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        endpoint = settings.otlp_endpoint.rstrip("/") + "/v1/traces"
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    trace.set_tracer_provider(provider)
    return provider


def inject_trace_headers(headers: KafkaHeaders) -> KafkaHeaders:
    """Add W3C trace context (``traceparent``) of the current span to Kafka headers.

    Headers that already carry a trace context (an outbox entry's original one) keep it.
    """
    if any(key == "traceparent" for key, _ in headers):
        return headers
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return headers + [(key, value.encode()) for key, value in carrier.items()]


def extract_trace_context(headers: Iterable[tuple[str, bytes]] | None) -> context.Context:
    """The trace context carried in Kafka headers (empty context when none)."""
    carrier = {key: value.decode(errors="replace") for key, value in headers or ()}
    return propagate.extract(carrier)


def header_value(headers: Sequence[tuple[str, bytes]] | None, name: str) -> str | None:
    """A header's value as text, or None."""
    for key, value in headers or ():
        if key == name:
            return value.decode(errors="replace")
    return None
