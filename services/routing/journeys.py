"""One trace per dossier journey: the trace context a dossier arrived in, kept with it.

Unit actions come in as separate HTTP requests (each its own trace), hours or days
apart. Routing runs each action in a span of the dossier's journey trace, linked to
the request's own span, so the events the action writes (and everything downstream)
stay in the trace that started with the submission at intake. The journey's context
is kept in the dossier's own document (``store.py``), written when the route is
planned and read with the dossier: it costs no round trip of its own.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from opentelemetry import trace
from opentelemetry.context import Context

from shared.telemetry.messaging import extract_trace_context, inject_trace_headers

tracer = trace.get_tracer(__name__)
Journey = dict[str, str]
"""A journey's trace context as trace headers (empty when tracing was off)."""


def current_journey() -> Journey:
    """The current trace context (the received event's), to keep as the dossier's journey."""
    return {key: value.decode() for key, value in inject_trace_headers([])}


def journey_context(journey: Mapping[str, str]) -> Context | None:
    """The trace context a kept journey names (None when none was kept)."""
    if not journey:
        return None
    return extract_trace_context([(k, str(v).encode()) for k, v in journey.items()])


@contextmanager
def action_span(name: str, code: str, journey: Context | None) -> Iterator[None]:
    """A span ``routing <action>`` in the dossier's journey trace, linked to the caller's."""
    caller = trace.get_current_span().get_span_context()
    links = [trace.Link(caller)] if caller.is_valid and journey is not None else []
    with tracer.start_as_current_span(
        f"routing {name}",
        context=journey,  # None: a child of the caller's span, as usual
        kind=trace.SpanKind.INTERNAL,
        links=links,
        attributes={"dossier.code": code, "routing.action": name},
    ):
        yield
