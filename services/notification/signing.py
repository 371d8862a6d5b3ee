"""Webhook signatures: how we sign a delivery and how a receiver verifies it (pure).

Header ``X-LT-Signature: t=<unix seconds>,v1=<hex>`` where the hex is
HMAC-SHA256(secret, ``f"{t}.".encode() + body``). A receiver recomputes it over the
raw body, compares in constant time, rejects timestamps outside a tolerance (replays
of old captures) and remembers ``X-LT-Event-Id`` to drop a delivery it already took.
Several ``v1=`` entries may appear (secret rotation); one match is enough.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-LT-Signature"
EVENT_ID_HEADER = "X-LT-Event-Id"
EVENT_TYPE_HEADER = "X-LT-Event-Type"
DELIVERY_ID_HEADER = "X-LT-Delivery-Id"
DEFAULT_TOLERANCE_S = 300
SCHEME = "v1"


class SignatureError(ValueError):
    """The delivery must be rejected; ``reason`` says why (for the receiver's logs)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def compute(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``"{timestamp}." + body`` under ``secret``."""
    signed = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-LT-Signature`` header value for a body sent at ``timestamp``."""
    return f"t={timestamp},{SCHEME}={compute(secret, timestamp, body)}"


def parse(header: str) -> tuple[int, list[str]]:
    """The timestamp and the ``v1`` signatures of a header value."""
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        # ASCII only: "²".isdigit() holds but int() refuses it, and compare_digest
        # refuses non-ASCII text; a receiver must get SignatureError, never a crash.
        if name == "t" and value.isascii() and value.isdigit() and len(value) <= 12:
            timestamp = int(value)
        elif name == SCHEME and value and value.isascii():
            signatures.append(value)
    if timestamp is None or not signatures:
        raise SignatureError("malformed signature header")
    return timestamp, signatures


def verify(
    secret: str,
    body: bytes,
    header: str | None,
    *,
    now: float,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
) -> int:
    """Check a delivery's signature and freshness; return its timestamp or raise SignatureError."""
    if not header:
        raise SignatureError("missing signature header")
    timestamp, signatures = parse(header)
    if abs(now - timestamp) > tolerance_s:
        raise SignatureError("timestamp outside tolerance")
    expected = compute(secret, timestamp, body)
    if not any(hmac.compare_digest(expected, candidate) for candidate in signatures):
        raise SignatureError("signature mismatch")
    return timestamp
