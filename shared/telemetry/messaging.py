"""Tracing across Kafka: the trace context carried in message headers (W3C
``traceparent``), and span attributes after the OpenTelemetry messaging conventions for
Kafka."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from opentelemetry import context, propagate
from opentelemetry.util.types import AttributeValue

from shared.telemetry.metrics import event_type_label

KafkaHeaders = list[tuple[str, bytes]]


def messaging_attributes(
    *,
    operation: str,
    topic: str,
    message_id: str,
    key: str | None,
    event_type: str,
    partition: int | None = None,
    offset: int | None = None,
    group: str | None = None,
) -> dict[str, AttributeValue]:
    """Span attributes after the OpenTelemetry messaging conventions for Kafka."""
    attributes: dict[str, AttributeValue] = {
        "messaging.system": "kafka",
        "messaging.operation.name": operation,
        "messaging.operation.type": operation,
        "messaging.destination.name": topic,
        "messaging.message.id": message_id,
        "cloudevents.event_id": message_id,
        "cloudevents.event_type": event_type_label(event_type),
    }
    if key is not None:
        attributes["messaging.kafka.message.key"] = key
        attributes["dossier.code"] = key
    if partition is not None:
        attributes["messaging.destination.partition.id"] = str(partition)
    if offset is not None:
        attributes["messaging.kafka.offset"] = offset
    if group is not None:
        attributes["messaging.consumer.group.name"] = group
    return attributes


def inject_trace_headers(headers: KafkaHeaders) -> KafkaHeaders:
    """Add W3C trace context (``traceparent``) of the current span to Kafka headers.

    Headers that already carry a trace context (an outbox entry's original one) keep it.
    """
    if any(key == "traceparent" for key, _ in headers):
        return headers
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return headers + [(key, value.encode()) for key, value in carrier.items()]


def replace_trace_headers(headers: KafkaHeaders) -> KafkaHeaders:
    """Headers whose trace context is the current span's (the relay's producer span)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    if not carrier:
        return headers
    kept = [(key, value) for key, value in headers if key not in carrier]
    return kept + [(key, value.encode()) for key, value in carrier.items()]


MAX_PROPAGATED_BYTES = 8192  # W3C Baggage: the most a baggage header may hold


def extract_trace_context(headers: Iterable[tuple[str, bytes]] | None) -> context.Context:
    """The trace context carried in Kafka headers (empty context when none).

    Only the headers the propagator reads are decoded (not the CloudEvents ones), and
    only up to W3C Baggage's limit of 8,192 bytes: a longer one (an agency's record may
    carry anything) is ignored, not handed to the propagator, which would log it whole.
    """
    fields = propagate.get_global_textmap().fields
    carrier = {
        key: value.decode(errors="replace")
        for key, value in headers or ()
        if key in fields and len(value) <= MAX_PROPAGATED_BYTES
    }
    return propagate.extract(carrier)


def header_value(headers: Sequence[tuple[str, bytes]] | None, name: str) -> str | None:
    """A header's value as text, or None."""
    for key, value in headers or ():
        if key == name:
            return value.decode(errors="replace")
    return None
