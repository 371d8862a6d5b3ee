"""HTTP basics every service shares: problem+json errors, body size and in-flight limits,
request metrics.

Domain refusals are typed exceptions (``DomainError``) mapped once, here, to
``application/problem+json`` bodies with a machine-readable ``code`` and the ``field``.
Health, readiness and the metrics endpoint are in ``shared.probes``.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pymongo.errors import PyMongoError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.mongo.errors import store_unavailable
from shared.refusals import Refused
from shared.telemetry.metrics import HTTP_IN_FLIGHT, HTTP_REQUESTS, HTTP_SECONDS, HTTP_SHED

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"
MAX_STORE_INT = 2**63 - 1
"""The largest integer the store keeps (BSON int64): bound every integer parameter by it."""


class DomainError(Refused):
    """A refusal raised by an HTTP route itself, with its status (domain code raises
    ``Refused``, whose status comes from the service's table)."""

    status: int = 400
    code: str = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        field: str | None = None,
        status: int | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(code or self.code, message, field=field, **(extra or {}))
        self.message = message
        self.status = status or self.status


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    status = 409
    code = "conflict"


def problem_body(status: int, code: str, detail: str, **extra: Any) -> dict[str, Any]:
    """An RFC 9457 problem document's members."""
    return {
        "type": f"urn:lienthong:problem:{code}",
        "title": code.replace("_", " "),
        "status": status,
        "code": code,
        "detail": detail,
        **extra,
    }


def problem(status: int, code: str, detail: str, **extra: Any) -> JSONResponse:
    """An RFC 9457 problem document as a response."""
    body = problem_body(status, code, detail, **extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


UNLISTED_REFUSAL_STATUS = 422
BODY_PARSE_ERROR = "There was an error parsing the body"
"""The detail of the 400 FastAPI raises when reading a JSON body fails other than by a
syntax error (which it reports as a validation error, ``json_invalid``)."""


def install_error_handlers(app: FastAPI, refusal_statuses: Mapping[str, int] | None = None) -> None:
    """Map refusals (status from the service's table, by code), validation errors and
    HTTP errors to problem+json."""
    statuses: Mapping[str, int] = refusal_statuses or {}

    @app.exception_handler(Refused)
    async def on_refused(_: Request, exc: Refused) -> JSONResponse:
        extra: dict[str, Any] = dict(exc.extra)
        if exc.field:
            extra["field"] = exc.field
        status = (
            exc.status
            if isinstance(exc, DomainError)
            else statuses.get(exc.code, UNLISTED_REFUSAL_STATUS)
        )
        return problem(status, exc.code, exc.detail, **extra)

    @app.exception_handler(RequestValidationError)
    async def on_validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        if not _json_declared(request) and any(e["loc"] == ("body",) for e in exc.errors()):
            # FastAPI reads a body as JSON only when its Content-Type says so; any other
            # (none, text/plain as fetch() sends a string) reaches the model as bytes,
            # "not a valid dictionary": the body was not JSON to this service.
            return problem(
                400,
                "malformed_json",
                "the body was not read as JSON: send it with Content-Type: application/json",
                field="body",
            )
        errors = [
            {
                # A JSON syntax error's loc ends with a character offset, not a field.
                "field": "body"
                if err["type"] == "json_invalid"
                else ".".join(str(p) for p in err["loc"] if p != "body") or "body",
                "code": err["type"],
                "message": err["msg"],
            }
            for err in exc.errors()
        ]
        malformed = any(err["type"] == "json_invalid" for err in exc.errors())
        code = "malformed_json" if malformed else "invalid_request"
        return problem(
            422 if not malformed else 400,
            code,
            errors[0]["message"],
            field=errors[0]["field"],
            errors=errors,
        )

    @app.exception_handler(PyMongoError)
    async def on_store_error(_: Request, exc: Exception) -> JSONResponse:
        if not store_unavailable(exc):
            log.exception("unexpected store error", exc_info=exc)
            return problem(500, "internal_error", "unexpected error; it was logged")
        log.warning("store unavailable", extra={"error": repr(exc)})
        response = problem(503, "store_unavailable", "the store is unavailable; retry later")
        response.headers["Retry-After"] = "5"
        return response

    @app.exception_handler(Exception)
    async def on_unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return problem(500, "internal_error", "unexpected error; it was logged")

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and exc.detail == BODY_PARSE_ERROR:
            # FastAPI's words for a body json.loads raised on with something else than a
            # syntax error: bytes that are not UTF-8, nesting deeper than the parser's
            # recursion limit, an integer of more digits than Python converts.
            return problem(
                400,
                "malformed_json",
                "the body is not JSON that can be read (not UTF-8, nested too deeply, "
                "or a number too long)",
                field="body",
            )
        code = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large"}.get(
            exc.status_code, "http_error"
        )
        return problem(exc.status_code, code, str(exc.detail))


def _json_declared(request: Request) -> bool:
    """Whether the request's Content-Type is JSON (``application/json`` or ``+json``)."""
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


class BodySizeLimit:
    """Refuses request bodies above a limit with 413, before they are read into memory."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise StarletteHTTPException(413, f"body larger than {self.max_bytes} bytes")
            return message

        await self.app(scope, limited_receive, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem(413, "body_too_large", f"body larger than {self.max_bytes} bytes")
        await response(scope, receive, send)


PROBES = frozenset({"/healthz", "/readyz", "/metrics"})
"""Answered even when the service is overloaded: an orchestrator must not restart a
service for being busy, and operations must see why it is."""
OVERLOADED_RETRY_AFTER_S = 1


class InFlightLimit:
    """Refuses a request with 503 ``overloaded`` (and ``Retry-After``) while ``limit``
    others are being handled, before its token is checked. Paths in ``uncounted`` are
    always let through and not counted.

    Past the machine's capacity, requests accepted anyway only wait longer behind each
    other, until clients time out and retry; refusing the excess at once keeps the
    answered ones fast and tells clients when to come back, as for ``store_unavailable``.
    A request counts once its body is in: a client trickling a body uses no CPU, and if
    it counted, a few hundred such clients (no token needed) would refuse everyone else.
    Inside ``BodySizeLimit``, so what it reads first is bounded.
    """

    def __init__(self, app: ASGIApp, limit: int, uncounted: frozenset[str] = PROBES) -> None:
        self.app = app
        self.limit = limit
        self.uncounted = uncounted  # probes; streams, whose answer stays open
        self.in_flight = 0
        self._gauges: dict[str, Any] = {}  # by service: labels() takes a lock each time

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.uncounted:
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.limit:  # at once, before reading the body
            await self._refuse(scope, receive, send)
            return
        try:
            receive = await whole_body_first(receive)
        except StarletteHTTPException as exc:  # BodySizeLimit's, raised by its receive
            await problem(exc.status_code, "body_too_large", exc.detail)(scope, receive, send)
            return
        if self.in_flight >= self.limit:
            await self._refuse(scope, receive, send)
            return
        self.in_flight += 1
        service = service_of(scope)
        gauge = self._gauges.get(service)
        if gauge is None:
            gauge = self._gauges[service] = HTTP_IN_FLIGHT.labels(service)
        gauge.inc()
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
            gauge.dec()

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        HTTP_SHED.labels(service_of(scope)).inc()
        response = problem(
            503, "overloaded", "the service is handling its most requests; retry later"
        )
        response.headers["Retry-After"] = str(OVERLOADED_RETRY_AFTER_S)
        await response(scope, receive, send)


async def whole_body_first(receive: Receive) -> Receive:
    """Read the request's body now; the returned ``receive`` hands it out again, then
    listens on the connection (for the client leaving)."""
    pending: deque[Message] = deque()
    while True:
        message = await receive()
        pending.append(message)
        if message["type"] != "http.request" or not message.get("more_body", False):
            break

    async def replay() -> Message:
        return pending.popleft() if pending else await receive()

    return replay


class HttpMetrics:
    """Counts and times requests by route template (never the raw path: codes in paths
    would grow the label set); unmatched paths count under ``unmatched``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # The labelled series, by labels: ``labels()`` takes a lock and builds a key each time.
        self._counters: dict[tuple[str, str, str, str], Any] = {}
        self._timers: dict[tuple[str, str, str], Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), 500

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            self._record(scope, status, time.perf_counter() - started)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        route = getattr(scope.get("route"), "path", "unmatched")
        timed = (service_of(scope), scope["method"], route)
        counted = (*timed, str(status))
        counter = self._counters.get(counted)
        if counter is None:
            counter = self._counters[counted] = HTTP_REQUESTS.labels(*counted)
        timer = self._timers.get(timed)
        if timer is None:
            timer = self._timers[timed] = HTTP_SECONDS.labels(*timed)
        counter.inc()
        timer.observe(seconds)


def service_of(scope: Scope) -> str:
    """The service's name from its runtime (set by the lifespan), else empty."""
    runtime = getattr(getattr(scope.get("app"), "state", None), "runtime", None)
    return str(getattr(runtime, "service", ""))
