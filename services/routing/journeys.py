"""One trace per dossier journey: the trace context a dossier arrived in, kept by code.

Unit actions come in as separate HTTP requests (each its own trace), hours or days
apart. Routing runs each action in a span of the dossier's journey trace, linked to
the request's own span, so the events the action writes (and everything downstream)
stay in the trace that started with the submission at intake.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry import trace
from opentelemetry.context import Context

from shared.mongo.client import Database, Session
from shared.telemetry import extract_trace_context, inject_trace_headers

tracer = trace.get_tracer(__name__)


class JourneyTraces:
    """The journey trace context of each dossier routing holds."""

    def __init__(self, db: Database) -> None:
        self._traces = db["journey_traces"]

    async def remember(self, code: str, session: Session) -> None:
        """Keep the current trace context (the received event's) as the dossier's journey."""
        headers = {key: value.decode() for key, value in inject_trace_headers([])}
        if headers:
            await self._traces.update_one(
                {"_id": code}, {"$setOnInsert": headers}, upsert=True, session=session
            )

    async def context_of(self, code: str) -> Context | None:
        doc = await self._traces.find_one({"_id": code})
        if doc is None:
            return None
        return extract_trace_context([(k, str(v).encode()) for k, v in doc.items() if k != "_id"])


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
