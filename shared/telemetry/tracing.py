"""Tracing: the service's OpenTelemetry tracer provider, which of its spans are recorded,
where they are sent, and the library instrumentations."""

from __future__ import annotations

from typing import Any

from opentelemetry import trace
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

from shared.settings import TelemetrySettings
from shared.telemetry.url_secrets import scrub_client_span, scrub_client_span_async


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
