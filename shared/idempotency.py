"""The Idempotency-Key every service takes the same way: its format and the request's
fingerprint.

A key names one request: a repeat with the same key and the same request is a retry
(it acts once and answers the first result); the same key with another request is a
reuse and is refused (409 ``idempotency_key_reused``). The fingerprint is what tells
them apart, a digest of what the request asks (its route or command type, and its
body), so each service compares the same thing however it keeps the key's record.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from shared.refusals import Refused

IDEMPOTENCY_KEY_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]{8,128}$")
KEY_FORMAT = "8 to 128 characters of A-Z a-z 0-9 _ . : -"


def checked_key(key: str | None) -> str | None:
    """The key if it is well formed (or absent); else refused ``invalid_idempotency_key``."""
    if key is not None and not IDEMPOTENCY_KEY_PATTERN.match(key):
        raise Refused(
            "invalid_idempotency_key",
            f"Idempotency-Key must be {KEY_FORMAT}",
            field="Idempotency-Key",
        )
    return key


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no spaces, UTF-8: the same value always gives the same bytes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def request_fingerprint(kind: str, body: dict[str, Any]) -> str:
    """A digest of one request: what it is (route or command type) and its body."""
    return hashlib.sha256(kind.encode() + b"\n" + canonical_json(body)).hexdigest()


def key_reused() -> Refused:
    """The refusal of a key seen before with another request."""
    return Refused(
        "idempotency_key_reused",
        "this Idempotency-Key was used for another request",
        field="Idempotency-Key",
    )
