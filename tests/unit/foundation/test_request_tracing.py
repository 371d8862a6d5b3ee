"""Requests go through the instrumented stack only while spans are received; otherwise
they run in a span of the caller's trace that nothing records (logs and emitted events
still carry that trace)."""

from __future__ import annotations

from typing import Any

from opentelemetry import trace
from starlette.types import Receive, Scope, Send

from shared.request_tracing import RequestTracing

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
TRACEPARENT = f"00-{TRACE_ID}-b7ad6b7169203331-01"


class Recorder:
    """An ASGI app that notes it was called and the trace id current inside it."""

    def __init__(self) -> None:
        self.trace_ids: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        context = trace.get_current_span().get_span_context()
        self.trace_ids.append(f"{context.trace_id:032x}")


def http_scope(path: str = "/v1/dossiers/X", traceparent: str | None = TRACEPARENT) -> Scope:
    headers = [(b"host", b"testserver")]
    if traceparent is not None:
        headers.append((b"traceparent", traceparent.encode()))
    return {"type": "http", "method": "POST", "path": path, "headers": headers}


async def run(tracing: RequestTracing, scope: Scope) -> None:
    async def receive() -> Any:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        return None

    await tracing(scope, receive, send)


async def test_without_receivers_a_request_runs_plain_in_the_callers_trace() -> None:
    plain, instrumented = Recorder(), Recorder()
    tracing = RequestTracing(plain, instrumented, ["/healthz"], received=lambda: False)

    await run(tracing, http_scope())

    assert plain.trace_ids == [TRACE_ID] and instrumented.trace_ids == []


async def test_with_a_receiver_every_request_goes_through_the_instrumented_stack() -> None:
    plain, instrumented = Recorder(), Recorder()
    tracing = RequestTracing(plain, instrumented, ["/healthz"], received=lambda: True)

    await run(tracing, http_scope())
    await run(tracing, http_scope("/healthz"))

    assert len(instrumented.trace_ids) == 2 and plain.trace_ids == []


async def test_untraced_paths_and_other_scopes_get_no_span_of_ours() -> None:
    plain, instrumented = Recorder(), Recorder()
    tracing = RequestTracing(plain, instrumented, ["/healthz"], received=lambda: False)

    await run(tracing, http_scope("/healthz"))
    await run(tracing, {"type": "lifespan"})

    assert plain.trace_ids == ["0" * 32]  # no context: the caller's trace is not read
    assert len(instrumented.trace_ids) == 1  # the lifespan goes through as it always did
