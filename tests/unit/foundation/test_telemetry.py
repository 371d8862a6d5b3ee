"""Telemetry: one JSON object per log line; trace context round-trips through Kafka headers."""

from __future__ import annotations

import io
import json
import logging

import pytest
from opentelemetry import baggage, trace
from opentelemetry.sdk.trace import TracerProvider

from shared.settings import TelemetrySettings
from shared.telemetry.logs import configure_logging
from shared.telemetry.messaging import extract_trace_context, inject_trace_headers
from shared.telemetry.tracing import ReceiverSampling


def test_logs_are_json_lines_with_service_level_time_and_extras() -> None:
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    try:
        configure_logging(TelemetrySettings(json_logs=True), "routing")
        stream = io.StringIO()
        root.handlers[0].setStream(stream)  # type: ignore[attr-defined]
        logging.getLogger("routing.handlers").warning("transfer refused", extra={"dossier": "D-1"})
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
    line = json.loads(stream.getvalue().strip())
    assert line["service"] == "routing" and line["level"] == "WARNING"
    assert line["logger"] == "routing.handlers" and line["message"] == "transfer refused"
    assert line["dossier"] == "D-1" and line["time"].endswith("+00:00")


def test_uvicorns_coloured_copy_of_its_message_is_left_out() -> None:
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    try:
        configure_logging(TelemetrySettings(json_logs=True), "routing")
        stream = io.StringIO()
        handler = root.handlers[0]
        handler.setStream(stream)  # type: ignore[attr-defined]
        # The record uvicorn makes, handed to the service's handler directly: uvicorn
        # servers run earlier in this process may have set its loggers' levels.
        coloured = "Started server process [\x1b[36m%d\x1b[0m]"
        record = logging.getLogger("uvicorn.error").makeRecord(
            "uvicorn.error",
            logging.INFO,
            __file__,
            0,
            "Started server process [%d]",
            (42,),
            None,
            extra={"color_message": coloured},
        )
        handler.handle(record)
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
    line = json.loads(stream.getvalue().strip())
    assert line["message"] == "Started server process [42]"
    assert "color_message" not in line and "\x1b" not in stream.getvalue()


def test_trace_context_survives_kafka_headers_and_an_existing_one_is_kept() -> None:
    tracer = TracerProvider().get_tracer("tests")
    with tracer.start_as_current_span("produce") as span:
        headers = inject_trace_headers([("ce_type", b"dossier.received.v1")])
        trace_id = span.get_span_context().trace_id
    carried = trace.get_current_span(extract_trace_context(headers)).get_span_context()
    assert carried.trace_id == trace_id
    with tracer.start_as_current_span("relay"):
        assert inject_trace_headers(headers) == headers  # the writer's trace, not the relay's


def test_a_baggage_header_past_its_limit_is_ignored_not_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An agency's record may carry any header: 50 kB of baggage is left out before the
    propagator, which would log it whole at WARNING; the trace context still counts."""
    tracer = TracerProvider().get_tracer("tests")
    with tracer.start_as_current_span("agency"):
        headers = inject_trace_headers([])
    huge = [*headers, ("baggage", b"k=" + b"v" * 50_000)]
    with caplog.at_level(logging.WARNING):
        context = extract_trace_context(huge)
    assert baggage.get_all(context) == {}
    assert trace.get_current_span(context).get_span_context().is_valid
    assert not [r for r in caplog.records if "v" * 100 in r.getMessage()]
    assert baggage.get_all(extract_trace_context([("baggage", b"unit=000.00.31.H59")])) == {
        "unit": "000.00.31.H59"
    }


def test_without_a_receiver_spans_are_not_recorded_but_keep_their_ids_for_logs_and_headers() -> (
    None
):
    tracer = TracerProvider(sampler=ReceiverSampling(1.0)).get_tracer("tests")
    with tracer.start_as_current_span("handle") as span:
        headers = inject_trace_headers([])
        context = span.get_span_context()
    assert not span.is_recording()
    assert context.is_valid and not context.trace_flags.sampled
    carried = trace.get_current_span(extract_trace_context(headers)).get_span_context()
    assert carried.trace_id == context.trace_id


def test_a_sample_ratio_applies_to_new_traces_and_a_callers_decision_is_followed() -> None:
    sampling = ReceiverSampling(0.0)
    sampling.receiving = True
    tracer = TracerProvider(sampler=sampling).get_tracer("tests")
    with tracer.start_as_current_span("new trace") as root:
        assert not root.is_recording()
    caller = TracerProvider().get_tracer("caller")
    with caller.start_as_current_span("caller's span"):
        headers = inject_trace_headers([])
    with tracer.start_as_current_span("continued", context=extract_trace_context(headers)) as span:
        assert span.is_recording()
    everything = ReceiverSampling(1.0)
    everything.receiving = True
    with TracerProvider(sampler=everything).get_tracer("t").start_as_current_span("s") as span:
        assert span.is_recording()
