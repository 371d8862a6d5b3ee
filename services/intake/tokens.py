"""Intake's secrets and fingerprints: identity hashes, look-up tokens, sealed receipts.

Pure functions (no I/O): what is kept of a secret, and how a presented one is checked.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


def identity_hash(key: bytes, identity_type: str, number: str) -> str:
    """Keyed HMAC-SHA256 of an identity number (hex): matchable, not reversible."""
    return hmac.new(key, f"{identity_type}:{number}".encode(), hashlib.sha256).hexdigest()


def new_lookup_token(nbytes: int) -> str:
    """A fresh secret look-up token for the applicant."""
    return secrets.token_urlsafe(nbytes)


def token_digest(token: str) -> str:
    """What the store keeps of a look-up token (a high-entropy secret needs no key)."""
    return hashlib.sha256(token.encode()).hexdigest()


def token_matches(token: str | None, digest: str | None) -> bool:
    """Constant-time check of a presented token against the stored digest."""
    presented = token_digest(token or "")
    return hmac.compare_digest(presented, digest or "0" * 64) and bool(token and digest)


def idempotency_id(route: str, key: str) -> str:
    """The stored record's id: the key itself is not kept (it unseals the token)."""
    return hashlib.sha256(f"{route}\n{key}".encode()).hexdigest()


def _seal_key(receipt_key: bytes, idempotency_key: str) -> bytes:
    return hmac.new(receipt_key, f"idempotency:{idempotency_key}".encode(), "sha256").digest()


def seal_token(receipt_key: bytes, idempotency_key: str, token: str) -> str:
    """Encrypt a look-up token so only a retry with the same key can get it back."""
    nonce = secrets.token_bytes(12)
    sealed = AESGCM(_seal_key(receipt_key, idempotency_key)).encrypt(nonce, token.encode(), None)
    return base64.urlsafe_b64encode(nonce + sealed).decode()


def unseal_token(receipt_key: bytes, idempotency_key: str, sealed: str) -> str | None:
    """The token sealed by ``seal_token`` with the same keys, else None."""
    raw = base64.urlsafe_b64decode(sealed)
    try:
        plain = AESGCM(_seal_key(receipt_key, idempotency_key)).decrypt(raw[:12], raw[12:], None)
    except InvalidTag:
        return None
    return plain.decode()
