"""Secrets in URLs: the query parameters whose values are secrets, redacted on the spans
the FastAPI (server) and httpx (client) instrumentations build before any exporter sees
them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote_plus

from opentelemetry.trace import Span
from opentelemetry.util.http import PARAMS_TO_REDACT

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
