"""Ed25519 private key files (PKCS#8 PEM, mode 0600): loaded, or generated on first start.

Used by the services that sign: the audit log (checkpoints) and the witnesses
(cosignatures). Each keeps its own file; nothing here shares a key.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

log = logging.getLogger(__name__)


def load_ed25519_key(path: Path) -> Ed25519PrivateKey:
    """The Ed25519 private key in a PKCS#8 PEM file."""
    private = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(private, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 private key")
    return private


def load_or_create_ed25519_key(path: Path) -> Ed25519PrivateKey:
    """The key at ``path``; on first start, a new key written there (mode 0600)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        # Written aside, then linked into place: two instances starting together keep
        # one complete key file, never a half-written one.
        draft = path.with_name(f".{path.name}.{os.getpid()}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
        try:
            os.link(draft, path)
            log.warning("generated a new signing key", extra={"path": str(path)})
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return load_ed25519_key(path)
