"""Each HTTP request in a server span of the caller's trace, at a cost fitting who reads it.

While spans are recorded (an OTLP exporter, a test's receiver), OpenTelemetry's FastAPI
instrumentation builds every request's server span: the route template as its name,
the request's attributes, exceptions recorded on it. While nothing records them (no
``LT_TELEMETRY_OTLP_ENDPOINT``), that work goes nowhere, yet it cost about a third of a
request's framework CPU (matching the route once more, parsing the URL, the semantic
convention attributes: 0.3-0.45 ms per request on the 2-core machine). Then a request
only gets what its logs and the events it emits need: the caller's trace context
(``traceparent``) and a span of its own in it, not recorded, so log lines keep their
``trace_id`` and the events their ``traceparent``. The choice is made per request, so a
receiver added later (``shared.telemetry.tracing.receive_spans``) gets the full spans at
once.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from fastapi import FastAPI
from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from starlette.types import ASGIApp, Receive, Scope, Send

from shared.telemetry.tracing import spans_received
from shared.telemetry.url_secrets import scrub_server_span

tracer = trace.get_tracer(__name__)


class RequestTracing:
    """Sends a request through the instrumented middleware stack while spans are
    received, else through the plain one inside a non-recording span of the caller's
    trace. Paths in ``untraced`` (health, metrics) get no span either way."""

    def __init__(
        self,
        plain: ASGIApp,
        instrumented: ASGIApp,
        untraced: Collection[str],
        received: Callable[[], bool] = spans_received,
    ) -> None:
        self.plain = plain
        self.instrumented = instrumented
        # FastAPI's own telemetry (0.16x) stands down when the app's middleware stack
        # holds OpenTelemetry's ASGI middleware, found by following ``.app``: without
        # this it would not see it behind us and trace every request a second time, in
        # a server span of its own with the query string in ``url.query`` (secrets in
        # it included) and dependency, endpoint and serialization spans beside ours.
        self.app = instrumented
        self.untraced = frozenset(untraced)
        self.received = received

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.received():
            await self.instrumented(scope, receive, send)
            return
        if scope["path"] in self.untraced:
            await self.plain(scope, receive, send)
            return
        with tracer.start_as_current_span(
            scope["method"], context=caller_context(scope), kind=trace.SpanKind.SERVER
        ):
            await self.plain(scope, receive, send)


def caller_context(scope: Scope) -> Context:
    """The trace context the request's headers carry (``traceparent``, ``tracestate``,
    whatever the installed propagator reads), else an empty one."""
    fields = {name.lower().encode("latin-1") for name in propagate.get_global_textmap().fields}
    carrier = {
        name.decode("latin-1"): value.decode("latin-1")
        for name, value in scope["headers"]
        if name in fields
    }
    return propagate.extract(carrier)


def trace_requests(app: FastAPI, untraced: Collection[str]) -> None:
    """Instrument ``app`` with OpenTelemetry's FastAPI instrumentation, used only while
    spans are received (``RequestTracing``). ``untraced``: paths without spans."""
    build_plain = app.build_middleware_stack
    FastAPIInstrumentor.instrument_app(
        app,
        excluded_urls=",".join(path.lstrip("/") for path in untraced),
        # One server span per request: the ASGI send and receive spans (three more per
        # request) say nothing the request's span does not.
        exclude_spans=["receive", "send"],
        # No secret of a query string (an applicant's look-up token, the sign-in's code
        # and state) on the server span: its URL attributes are redacted as it starts.
        server_request_hook=scrub_server_span,
    )
    build_instrumented = app.build_middleware_stack

    def build_middleware_stack() -> ASGIApp:
        return RequestTracing(build_plain(), build_instrumented(), untraced)

    app.build_middleware_stack = build_middleware_stack  # type: ignore[method-assign]
