"""Envelope encryption of the dossier keys: each is stored wrapped under a key-encryption key.

The dossier keys that seal personal fields (``audit.personal``) are kept beside the log,
in the same database: stored in clear, anyone with a copy of that database (a backup, a
dump) could read every sealed field. So each is stored *wrapped*: AES-256-GCM under the
wrapping key ``LT_AUDIT_KEY_WRAPPING_KEY`` (32 bytes, hex), which the service is given by
setting and which is never stored. Beside the wrapped key the store keeps the wrapping
key's id (``wrapped_by``, a short fingerprint, not secret), and the dossier code is the
associated data: a wrapped key copied onto another dossier does not unwrap. Pure: no I/O.

Rotation: the service may also be given previous wrapping keys
(``LT_AUDIT_PREVIOUS_KEY_WRAPPING_KEYS``). ``WrappingKeys`` unwraps with whichever key a
stored key's ``wrapped_by`` names and wraps only under the current one, so keys wrapped
under a previous key keep opening until ``python -m audit.wrap_keys --rotate`` re-wraps
them under the current one.

Stored form of a wrapped key: ``nonce (12 bytes) ‖ ciphertext of the 32-byte key ‖ tag``.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
NONCE_BYTES = 12
# Development default only (make run): start-up logs a warning while it is in use.
DEV_KEY_WRAPPING_KEY = hashlib.sha256(b"lienthong dev-only audit key-wrapping key").hexdigest()
DEV_KEY_WRAPPING_WARNING = "LT_AUDIT_KEY_WRAPPING_KEY is the development default: set it"


class DossierKeyUnreadable(RuntimeError):
    """A stored dossier key this service cannot unwrap: refused loudly, never taken for an
    erased key (which would show a dossier's personal fields as erased)."""


class UnknownWrappingKey(DossierKeyUnreadable):
    """The key was wrapped under a wrapping key that is not the configured one."""


def parse_wrapping_key(text: str) -> bytes:
    """The 32 bytes of a wrapping key given as 64 hex digits (``openssl rand -hex 32``)."""
    try:
        raw = bytes.fromhex(text.strip())
    except ValueError:
        raise ValueError("a key-wrapping key is 64 hex digits (openssl rand -hex 32)") from None
    if len(raw) != KEY_BYTES:
        raise ValueError("a key-wrapping key is 64 hex digits (openssl rand -hex 32)")
    return raw


def parse_previous_wrapping_keys(text: str) -> list[bytes]:
    """The previous wrapping keys, given as comma-separated 64-hex-digit keys (empty: none)."""
    return [parse_wrapping_key(part) for part in text.split(",") if part.strip()]


def wrapping_key_id(key: bytes) -> str:
    """The wrapping key's public name, kept beside each key it wraps (a hash of it)."""
    return hashlib.sha256(b"lienthong-audit-key-wrapping-key\n" + key).hexdigest()[:8]


class KeyWrapping:
    """Wraps and unwraps dossier keys under one wrapping key."""

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError("a key-wrapping key is 32 bytes")
        self._aead = AESGCM(key)
        self.id = wrapping_key_id(key)

    @classmethod
    def from_hex(cls, text: str) -> KeyWrapping:
        return cls(parse_wrapping_key(text))

    def _aad(self, subject: str) -> bytes:
        return f"lienthong-audit-dossier-key\n{self.id}\n{subject}".encode()

    def wrap(self, subject: str, key: bytes) -> bytes:
        """The dossier key of ``subject`` wrapped, as stored."""
        nonce = secrets.token_bytes(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, key, self._aad(subject))

    def unwrap(self, subject: str, wrapped: bytes, wrapped_by: str) -> bytes:
        """The dossier key of ``subject``; refused if wrapped under another wrapping key,
        for another dossier, or altered."""
        if wrapped_by != self.id:
            raise UnknownWrappingKey(
                f"the key of dossier {subject} is wrapped under wrapping key {wrapped_by}, "
                f"but LT_AUDIT_KEY_WRAPPING_KEY is key {self.id}: set the wrapping key it "
                "was wrapped under"
            )
        try:
            return self._aead.decrypt(
                wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], self._aad(subject)
            )
        except InvalidTag:
            raise DossierKeyUnreadable(
                f"the stored key of dossier {subject} does not unwrap under wrapping key "
                f"{self.id}: it was altered or copied from another dossier"
            ) from None


class WrappingKeys:
    """The current wrapping key and the previous ones still accepted to unwrap: keys are
    wrapped under the current one only, and unwrapped under the one their ``wrapped_by``
    names, if it is given."""

    def __init__(self, current: KeyWrapping, previous: Sequence[KeyWrapping] = ()) -> None:
        self.current = current
        self.previous = tuple({w.id: w for w in previous if w.id != current.id}.values())
        self._by_id = {w.id: w for w in (current, *self.previous)}

    @classmethod
    def from_keys(cls, current: bytes, previous: Sequence[bytes] = ()) -> WrappingKeys:
        return cls(KeyWrapping(current), [KeyWrapping(key) for key in previous])

    @property
    def id(self) -> str:
        """The id of the current wrapping key: the one new keys are wrapped under."""
        return self.current.id

    @property
    def ids(self) -> list[str]:
        """The ids of every wrapping key given, the current one first."""
        return list(self._by_id)

    @property
    def previous_ids(self) -> list[str]:
        return [w.id for w in self.previous]

    def given(self) -> str:
        """Which wrapping keys are given, for a message that says one is missing."""
        said = f"LT_AUDIT_KEY_WRAPPING_KEY is key {self.id}"
        if self.previous:
            said += f" and LT_AUDIT_PREVIOUS_KEY_WRAPPING_KEYS are {', '.join(self.previous_ids)}"
        return said

    def wrap(self, subject: str, key: bytes) -> bytes:
        """The dossier key of ``subject`` wrapped under the current wrapping key."""
        return self.current.wrap(subject, key)

    def unwrap(self, subject: str, wrapped: bytes, wrapped_by: str) -> bytes:
        """The dossier key of ``subject``, unwrapped under the wrapping key that wrapped
        it; refused (``UnknownWrappingKey``) if that key is not given."""
        wrapping = self._by_id.get(wrapped_by)
        if wrapping is None:
            raise UnknownWrappingKey(
                f"the key of dossier {subject} is wrapped under wrapping key {wrapped_by}, "
                f"but {self.given()}: set the wrapping key it was wrapped under"
            )
        return wrapping.unwrap(subject, wrapped, wrapped_by)

    def rewrap(self, subject: str, wrapped: bytes, wrapped_by: str) -> bytes:
        """The dossier key of ``subject``, wrapped under ``wrapped_by``, now wrapped
        under the current wrapping key (refused as ``unwrap`` refuses)."""
        return self.wrap(subject, self.unwrap(subject, wrapped, wrapped_by))
