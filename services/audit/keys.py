"""The checkpoint signing key: loaded from a file, generated on first start if absent.

``python -m audit.keys`` prints the log's vkey (creating the key file if absent), so a
witness can be configured with it before the service first starts (``make run``).
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from shared.command_line import no_arguments
from shared.keyfile import load_ed25519_key, load_or_create_ed25519_key
from shared.transparency.note import ED25519, Signer, Verifier

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SigningKey:
    """The private key that signs checkpoints, with its public half."""

    private: Ed25519PrivateKey
    public_raw: bytes

    @classmethod
    def of(cls, private: Ed25519PrivateKey) -> SigningKey:
        return cls(private=private, public_raw=public_raw(private.public_key()))

    def signer(self, log_id: str) -> Signer:
        """The signed-note signer: the key named after the log (its checkpoints' origin)."""
        return Signer(log_id, self.private)

    def verifier(self, log_id: str) -> Verifier:
        return Verifier(log_id, ED25519, self.public_raw)


def public_raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_pem(raw: bytes) -> str:
    """The SubjectPublicKeyInfo PEM form of a raw Ed25519 public key."""
    key = Ed25519PublicKey.from_public_bytes(raw)
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def parse_public_key(text: str) -> bytes:
    """A public key given as base64 of the raw 32 bytes or as PEM, as raw bytes."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_public_key(text.encode())
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("not an Ed25519 public key")
        return public_raw(key)
    raw = base64.b64decode(text, validate=True)
    Ed25519PublicKey.from_public_bytes(raw)  # raises unless 32 valid bytes
    return raw


def load_or_create_signing_key(path: Path) -> SigningKey:
    """The key at ``path``; on first start, a new key written there (mode 0600)."""
    return SigningKey.of(load_or_create_ed25519_key(path))


def load_signing_key(path: Path) -> SigningKey:
    """The Ed25519 private key in a PKCS#8 PEM file."""
    return SigningKey.of(load_ed25519_key(path))


def main(argv: list[str] | None = None) -> None:
    """Print the log's vkey, creating the signing key file first if it is absent."""
    no_arguments(
        "python -m audit.keys",
        "Print the audit log's vkey (what a witness's LT_WITNESS_LOG_VKEYS lists), creating "
        "the signing key at LT_AUDIT_SIGNING_KEY_PATH if it is absent.",
        argv,
    )  # --help says so, and creates nothing
    from audit.config import AuditLogKey, AuditSettings
    from shared.settings_env import read_settings

    # Not the witnesses: their vkeys may not be set yet. The environment (the audit
    # service's) is checked against every name the service reads.
    settings = read_settings(AuditLogKey, "audit", names_of=AuditSettings)
    print(load_or_create_signing_key(settings.signing_key_path).verifier(settings.log_id).vkey())


if __name__ == "__main__":
    main()
