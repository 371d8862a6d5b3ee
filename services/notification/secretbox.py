"""Webhook signing secrets at rest: generated here, shown once, stored encrypted.

AES-256-GCM under a key derived (HKDF-SHA256) from the service's privacy key, with the
subscription id as associated data, so a stored secret cannot be moved to another
subscription. The store never holds a secret in clear.
"""

from __future__ import annotations

import base64
import os
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

NONCE_BYTES = 12
SECRET_BYTES = 32


def new_secret() -> str:
    """A fresh signing secret (256 random bits, URL-safe text)."""
    return secrets.token_urlsafe(SECRET_BYTES)


class SecretBox:
    """Encrypts and decrypts signing secrets for one service key."""

    def __init__(self, master_key: str) -> None:
        key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"lienthong webhook secrets"
        ).derive(master_key.encode())
        self._aead = AESGCM(key)

    def seal(self, secret: str, subscription_id: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, secret.encode(), subscription_id.encode())
        return base64.b64encode(nonce + sealed).decode()

    def open(self, sealed: str, subscription_id: str) -> str | None:
        """The secret, or None when it was not sealed for this subscription with this key."""
        try:
            raw = base64.b64decode(sealed)
            plain = self._aead.decrypt(
                raw[:NONCE_BYTES], raw[NONCE_BYTES:], subscription_id.encode()
            )
        except (InvalidTag, ValueError):
            return None
        return plain.decode()
