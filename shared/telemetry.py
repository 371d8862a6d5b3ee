"""Telemetry: JSON logs carrying trace ids, OpenTelemetry tracing with context carried in
Kafka headers (span names and attributes after the OpenTelemetry messaging conventions for
Kafka), library instrumentations, and the Prometheus metrics every service exposes.

Event-type labels come only from the contract registry (``event_type_label``): a junk or
unknown type counts under ``unknown``, so messages cannot grow the label set.
"""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import unquote_plus

from opentelemetry import context, propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    ParentBased,
    Sampler,
    SamplingResult,
    TraceIdRatioBased,
)
from opentelemetry.trace import Span
from opentelemetry.util.http import PARAMS_TO_REDACT
from opentelemetry.util.types import AttributeValue
from prometheus_client import Counter, Gauge, Histogram
from pythonjsonlogger.json import JsonFormatter

from shared.settings import TelemetrySettings

KafkaHeaders = list[tuple[str, bytes]]
UNKNOWN_TYPE = "unknown"

EVENTS_PUBLISHED = Counter(
    "lt_events_published_total",
    "Events produced to Kafka, by topic and registered type.",
    ["service", "topic", "type"],
)
EVENTS_HANDLED = Counter(
    "lt_events_handled_total",
    "Messages consumed, by registered type and outcome "
    "(handled, duplicate, ignored, dead_lettered, invalid_*).",
    ["service", "topic", "type", "outcome"],
)
HANDLER_SECONDS = Histogram(
    "lt_handler_seconds", "Time to handle one message, retries included.", ["service", "type"]
)
HANDLER_RETRIES = Counter(
    "lt_handler_retries_total",
    "Handler attempts beyond the first (transient failures retried with backoff).",
    ["service", "type"],
)
DEAD_LETTERS = Counter(
    "lt_dead_letters_total",
    "Messages written to the dead-letter topic, by original topic and error kind.",
    ["service", "topic", "kind"],
)
OUTBOX_PENDING = Gauge(
    "lt_outbox_pending",
    "Outbox entries not yet published (counted in the store unless the relay is caught up).",
    ["service"],
)
OUTBOX_OLDEST_AGE = Gauge(
    "lt_outbox_oldest_age_seconds",
    "Age of the oldest unpublished outbox entry (0 when none waits).",
    ["service"],
)
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
HTTP_REQUESTS = Counter(
    "lt_http_requests_total",
    "HTTP requests answered, by route template and status code.",
    ["service", "method", "route", "status"],
)
HTTP_SECONDS = Histogram(
    "lt_http_request_seconds", "Time to answer an HTTP request.", ["service", "method", "route"]
)
STORE_COMMANDS = Counter(
    "lt_store_commands_total",
    "Commands sent to the store (round trips), by collection and command name.",
    ["service", "collection", "command"],
)
GROUPED_WRITES = Histogram(
    "lt_group_commit_size",
    "Pieces of work (HTTP actions) that shared one transaction, per group of two or more.",
    ["service"],
    buckets=(2, 3, 4, 6, 8, 12, 16, 24, 32),
)
DOSSIERS_BY_STATE = Gauge(
    "lt_dossiers", "Dossiers routing holds, by lifecycle state.", ["service", "state"]
)
DOSSIERS_OVERDUE = Gauge(
    "lt_dossiers_overdue",
    "Open dossiers past a due date with their clock running: a step ('step') or the "
    "appointment date ('dossier').",
    ["service", "kind"],
)


def event_type_label(event_type: str | None) -> str:
    """A metric label for an event type: registered types as they are, anything else
    ``unknown``."""
    if event_type is None or event_type not in _registry():
        return UNKNOWN_TYPE
    return event_type


@functools.cache
def _registry() -> Mapping[str, object]:
    """The contract registry (imported late: it imports telemetry's users), looked up
    once rather than per message."""
    from shared.events.registry import REGISTRY

    return REGISTRY


# --- logs -------------------------------------------------------------------------------


class _TraceIds(logging.Filter):
    """Puts the current trace and span ids on every record (empty outside a span)."""

    def filter(self, record: logging.LogRecord) -> bool:
        ctx = trace.get_current_span().get_span_context()
        record.trace_id = format(ctx.trace_id, "032x") if ctx.is_valid else ""
        record.span_id = format(ctx.span_id, "016x") if ctx.is_valid else ""
        return True


# The logging instrumentation's camel-case duplicates, and uvicorn's copy of its message
# with terminal colour escapes.
_DROPPED_RECORD_FIELDS = (
    "otelTraceID",
    "otelSpanID",
    "otelServiceName",
    "otelTraceSampled",
    "color_message",
)


class _LineFormatter(JsonFormatter):
    """JSON lines without the fields that only repeat another (``_DROPPED_RECORD_FIELDS``)."""

    def add_fields(
        self,
        log_data: dict[str, object],
        record: logging.LogRecord,
        message_dict: dict[str, object],
    ) -> None:
        super().add_fields(log_data, record, message_dict)
        for name in _DROPPED_RECORD_FIELDS:
            log_data.pop(name, None)


def configure_logging(settings: TelemetrySettings, service: str) -> None:
    """Route all logging to stdout, one JSON object per line (with ``trace_id`` and
    ``span_id``) when configured."""
    handler = logging.StreamHandler(sys.stdout)
    handler.addFilter(_TraceIds())
    if settings.json_logs:
        handler.setFormatter(
            _LineFormatter(
                "{levelname}{name}{message}",
                style="{",
                timestamp="time",  # ISO 8601 in UTC with milliseconds
                rename_fields={"levelname": "level", "name": "logger"},
                static_fields={"service": service},
            )
        )
    else:
        handler.setFormatter(
            logging.Formatter(
                "%(asctime)s %(levelname)s %(name)s [trace=%(trace_id)s span=%(span_id)s] "
                "%(message)s"
            )
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    logging.getLogger("pymongo").setLevel(logging.WARNING)
    # httpx logs every request's full URL at INFO: a webhook's or a callback's query may
    # carry a token. Its failures reach our own log lines through the exceptions.
    logging.getLogger("httpx").setLevel(logging.WARNING)


# --- traces -----------------------------------------------------------------------------


def configure_tracing(
    settings: TelemetrySettings, service: str, *extra: SpanProcessor
) -> TracerProvider:
    """Install a tracer provider for the service and instrument the libraries; export over
    OTLP/HTTP when configured (``extra`` processors, e.g. an in-memory one in tests)."""
    sampling = ReceiverSampling(settings.trace_sample_ratio)
    provider = TracerProvider(resource=Resource.create({"service.name": service}), sampler=sampling)
    trace.set_tracer_provider(provider)
    if settings.otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        endpoint = settings.otlp_endpoint.rstrip("/") + "/v1/traces"
        receive_spans(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    for processor in extra:
        receive_spans(processor)
    instrument_libraries(spans_per_command=sampling.receiving)
    return provider


class ReceiverSampling(Sampler):
    """Which spans are recorded: a share of new traces, the caller's decision for the rest;
    none while nothing receives spans (``receive_spans`` switches recording on).

    A span that is not recorded still has its trace and span ids, so logs keep their
    ``trace_id`` and Kafka headers their ``traceparent``; only attributes, events and
    timings nobody would read are not built (a few percent of every service's CPU under
    load, per store command and per message).
    """

    def __init__(self, ratio: float) -> None:
        self.receiving = False
        self._ratio = ratio
        self._on = ParentBased(TraceIdRatioBased(ratio))
        self._off = ParentBased(ALWAYS_OFF)

    def should_sample(self, *args: Any, **kwargs: Any) -> SamplingResult:
        return (self._on if self.receiving else self._off).should_sample(*args, **kwargs)

    def get_description(self) -> str:
        return f"ReceiverSampling(ratio={self._ratio}, receiving={self.receiving})"


def spans_received() -> bool:
    """Whether anything records this process's spans: a receiver was added to its
    ``ReceiverSampling`` provider, or another provider was installed."""
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        return False
    sampler = provider.sampler
    return not isinstance(sampler, ReceiverSampling) or sampler.receiving


def receive_spans(processor: SpanProcessor) -> None:
    """Send the installed provider's spans to ``processor`` too, and record them from now."""
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        raise RuntimeError("configure_tracing first")
    provider.add_span_processor(processor)
    if isinstance(provider.sampler, ReceiverSampling):
        provider.sampler.receiving = True


def instrument_libraries(*, spans_per_command: bool = True) -> None:
    """httpx and logging instrumentations, and with ``spans_per_command`` aiokafka's and
    PyMongo's, beside FastAPI's (idempotent).

    Our publisher and consumer runner add the spans that know the envelope ("send
    <topic>", "process <topic>": message id, event type, dossier) and carry the trace
    context in Kafka headers; the aiokafka instrumentation's spans nest inside them, so
    one trace runs from the HTTP request through every hop. The aiokafka and PyMongo
    instrumentations only add spans (one per message, one per store command): a service
    whose spans go nowhere goes without them.
    """
    from opentelemetry.instrumentation.aiokafka import AIOKafkaInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.logging import LoggingInstrumentor
    from opentelemetry.instrumentation.pymongo import PymongoInstrumentor

    httpx_instrumentor = HTTPXClientInstrumentor()
    if not httpx_instrumentor.is_instrumented_by_opentelemetry:
        httpx_instrumentor.instrument(
            request_hook=scrub_client_span, async_request_hook=scrub_client_span_async
        )
    instrumentors: list[Any] = []
    if spans_per_command:
        instrumentors += [AIOKafkaInstrumentor(), PymongoInstrumentor()]
    for instrumentor in instrumentors:
        if not instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.instrument()
    logging_instrumentor = LoggingInstrumentor()
    if not logging_instrumentor.is_instrumented_by_opentelemetry:
        logging_instrumentor.instrument(set_logging_format=False)


# --- secrets in URLs -------------------------------------------------------------------

# Query parameters whose values are secrets: the applicant's look-up token (intake), the
# OAuth authorisation code and state of the console's sign-in callback, and the usual
# names of tokens, keys and signatures (a webhook URL may carry one). Matched by name,
# case-insensitively, on every route: a routing filter named ``state`` is hidden too.
SECRET_PARAMETERS = frozenset(
    {
        "token",
        "access_token",
        "id_token",
        "id_token_hint",
        "refresh_token",
        "code",
        "code_verifier",
        "state",
        "session_state",
        "nonce",
        "client_secret",
        "client_assertion",
        "assertion",
        "password",
        "secret",
        "key",
        "api_key",
        "apikey",
        "signature",
        "sig",
        "auth",
        "authorization",
        *(name.lower() for name in PARAMS_TO_REDACT),  # the HTTP instrumentations' own list
    }
)
REDACTED = "REDACTED"  # as opentelemetry-util-http's redact_url writes it
# Span attributes the FastAPI (ASGI) and httpx instrumentations fill with the request's
# URL or query, in the old and the stable HTTP semantic conventions
# (OTEL_SEMCONV_STABILITY_OPT_IN).
URL_ATTRIBUTES = ("http.url", "url.full", "http.target")
QUERY_ATTRIBUTES = ("url.query",)


def redact_query(query: str) -> str:
    """``query`` with the value of every secret parameter replaced by ``REDACTED``; the
    rest as it was (names, order, encoding)."""
    if not query:
        return query
    pieces = []
    for piece in query.split("&"):
        name, equals, _ = piece.partition("=")
        if unquote_plus(name).strip().lower() in SECRET_PARAMETERS:
            piece = f"{name}={REDACTED}" if equals else piece
        pieces.append(piece)
    return "&".join(pieces)


def _scrub_span(span: Span, query: str) -> None:
    """Rewrite the URL and query attributes the instrumentation put on ``span`` (before
    it ends, so no exporter ever sees them) when ``query``, the request's raw query,
    carries a secret."""
    if not span.is_recording() or redact_query(query) == query:
        return
    attributes: Mapping[str, Any] = getattr(span, "attributes", None) or {}
    for name in URL_ATTRIBUTES:
        value = attributes.get(name)
        if isinstance(value, str) and "?" in value:
            # The ASGI instrumentation puts the query in http.url percent-decoded: the
            # raw one is put back, redacted, so a decoded '&' cannot split a secret.
            base, _, rest = value.partition("?")
            _, hash_, fragment = rest.partition("#")
            span.set_attribute(name, f"{base}?{redact_query(query)}{hash_}{fragment}")
    for name in QUERY_ATTRIBUTES:
        if isinstance(attributes.get(name), str):
            span.set_attribute(name, redact_query(query))


def scrub_server_span(span: Span, scope: Mapping[str, Any]) -> None:
    """The FastAPI instrumentation's ``server_request_hook``: no secret of the request's
    query string on its server span."""
    raw = scope.get("query_string") or b""
    _scrub_span(span, raw.decode("latin-1") if isinstance(raw, bytes) else str(raw))


def scrub_client_span(span: Span, request: Any) -> None:
    """The httpx instrumentation's ``request_hook``: no secret of an outgoing request's
    query on its client span (``request.url`` is an ``httpx.URL``)."""
    url = getattr(request, "url", None)
    query = getattr(url, "query", b"")
    _scrub_span(span, query.decode("ascii", "replace") if isinstance(query, bytes) else "")


async def scrub_client_span_async(span: Span, request: Any) -> None:
    """``scrub_client_span`` for asynchronous clients (the ``async_request_hook``)."""
    scrub_client_span(span, request)


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


def extract_trace_context(headers: Iterable[tuple[str, bytes]] | None) -> context.Context:
    """The trace context carried in Kafka headers (empty context when none).

    Only the headers the propagator reads are decoded (not the CloudEvents ones).
    """
    fields = propagate.get_global_textmap().fields
    carrier = {key: value.decode(errors="replace") for key, value in headers or () if key in fields}
    return propagate.extract(carrier)


def header_value(headers: Sequence[tuple[str, bytes]] | None, name: str) -> str | None:
    """A header's value as text, or None."""
    for key, value in headers or ():
        if key == name:
            return value.decode(errors="replace")
    return None
