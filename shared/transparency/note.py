"""C2SP signed notes (c2sp.org/signed-note): text signed by one or more named keys.

A note is UTF-8 text ending in a newline, a blank line, then signature lines
``— <key name> base64(key ID (4 bytes) || signature)``. A key is known to a verifier as
a *vkey* ``<name>+<hex key ID>+base64(<signature type> || public key)``. The key ID is
``SHA-256(name || "\\n" || type || public key)[:4]``. Type 0x01 is a plain Ed25519
signature over the text (what Go's ``golang.org/x/mod/sumdb/note`` verifies); type 0x04
is a timestamped cosignature (``shared.transparency.cosignature``).

Pure: standard library and ``cryptography`` only.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ED25519 = 0x01
COSIGNATURE_V1 = 0x04
SIGNATURE_PREFIX = "\u2014 "  # an em dash and a space
MAX_SIGNATURES = 100


class NoteError(ValueError):
    """A note, a signature line or a vkey that does not follow the format."""


def is_decimal(text: str) -> bool:
    """A size as the formats write it: decimal digits, no leading zero (except "0")."""
    return text.isdigit() and text.isascii() and (text == "0" or text[0] != "0")


def decode_hash(text: str, what: str) -> bytes:
    """A SHA-256 hash written in standard base64; NoteError naming ``what`` otherwise."""
    try:
        value = base64.b64decode(text, validate=True)
    except binascii.Error as exc:
        raise NoteError(f"{what} is not base64") from exc
    if len(value) != 32:
        raise NoteError(f"{what} is not 32 bytes")
    return value


def key_id(name: str, signature_type: int, public_key: bytes) -> bytes:
    """The 4-byte key ID of a named public key of a signature type."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([signature_type]) + public_key).digest()[:4]


def is_control(character: str) -> bool:
    """What a signed note must not hold: an ASCII control character (below U+0020; the
    newline is allowed between lines), or a lone surrogate (not encodable as UTF-8)."""
    return character < " " or "\ud800" <= character <= "\udfff"


def valid_key_name(name: str) -> bool:
    """A key name (c2sp.org/signed-note): non-empty, no Unicode space, no ``+``; and, as
    all of a note, no ASCII control character."""
    return bool(name) and not any(c.isspace() or c == "+" or is_control(c) for c in name)


def raw_public_key(key: Ed25519PublicKey) -> bytes:
    """The raw 32 bytes of an Ed25519 public key."""
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


@dataclass(frozen=True)
class Verifier:
    """A public key by name: what a vkey says."""

    name: str
    signature_type: int
    public_key: bytes  # raw Ed25519, 32 bytes

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.signature_type, self.public_key)

    @property
    def key_hash(self) -> str:
        """The key ID as 8 hex digits, as vkeys write it."""
        return self.key_id.hex()

    def vkey(self) -> str:
        """The vkey text of this key."""
        material = base64.b64encode(bytes([self.signature_type]) + self.public_key).decode()
        return f"{self.name}+{self.key_hash}+{material}"

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Whether ``signature`` is this key's Ed25519 signature of ``message``."""
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except (InvalidSignature, ValueError):
            return False
        return True


def parse_vkey(text: str) -> Verifier:
    """A vkey ``name+hash+base64(type || key)``; NoteError if malformed or inconsistent."""
    parts = text.strip().split("+", 2)  # the base64 part may hold "+" itself
    if len(parts) != 3 or not valid_key_name(parts[0]):
        raise NoteError(f"not a vkey: {text!r}")
    name, hash_hex, material = parts
    try:
        decoded = base64.b64decode(material, validate=True)
    except binascii.Error as exc:
        raise NoteError(f"vkey key material is not base64: {text!r}") from exc
    if len(decoded) != 33 or decoded[0] not in (ED25519, COSIGNATURE_V1):
        raise NoteError(f"vkey is not an Ed25519 (0x01) or cosignature (0x04) key: {text!r}")
    verifier = Verifier(name, decoded[0], decoded[1:])
    if verifier.key_hash != hash_hex.lower():
        raise NoteError(f"vkey key ID does not match its key: {text!r}")
    return verifier


@dataclass(frozen=True)
class Signer:
    """A named private key that signs notes (type 0x01) or cosigns checkpoints (0x04)."""

    name: str
    private_key: Ed25519PrivateKey
    signature_type: int = ED25519

    def __post_init__(self) -> None:
        if not valid_key_name(self.name):
            raise NoteError(f"invalid key name {self.name!r}")

    @property
    def verifier(self) -> Verifier:
        return Verifier(
            self.name, self.signature_type, raw_public_key(self.private_key.public_key())
        )

    def signature_line(self, signature: bytes) -> str:
        """``— name base64(key ID || signature)`` with a newline."""
        encoded = base64.b64encode(self.verifier.key_id + signature).decode()
        return f"{SIGNATURE_PREFIX}{self.name} {encoded}\n"

    def sign_text(self, text: str) -> str:
        """The Ed25519 (0x01) signature line of a note text."""
        check_text(text)
        return self.signature_line(self.private_key.sign(text.encode()))


@dataclass(frozen=True)
class Signature:
    """One signature line: key name, key ID and the signature bytes after it."""

    name: str
    key_id: bytes
    signature: bytes

    def line(self) -> str:
        encoded = base64.b64encode(self.key_id + self.signature).decode()
        return f"{SIGNATURE_PREFIX}{self.name} {encoded}\n"


@dataclass(frozen=True)
class Note:
    """A note split into its text and its signature lines (none verified yet)."""

    text: str
    signatures: tuple[Signature, ...]

    def encode(self) -> str:
        return self.text + "\n" + "".join(s.line() for s in self.signatures)

    def signed_by(self, verifier: Verifier) -> Signature | None:
        """The signature line of this key (by name and key ID), if present."""
        for signature in self.signatures:
            if signature.name == verifier.name and signature.key_id == verifier.key_id:
                return signature
        return None

    def verified_by(self, verifier: Verifier) -> bool:
        """Whether an Ed25519 (0x01) key's signature of the text is present and valid."""
        signature = self.signed_by(verifier)
        return (
            signature is not None
            and verifier.signature_type == ED25519
            and verifier.verify(self.text.encode(), signature.signature)
        )

    def with_signatures(self, lines: str) -> Note:
        """This note with more signature lines (e.g. cosignatures) appended."""
        extra = tuple(parse_signature_line(line) for line in lines.splitlines() if line)
        return Note(self.text, self.signatures + extra)


def check_text(text: str) -> None:
    """NoteError unless the text is a valid note text (c2sp.org/signed-note): UTF-8 ending
    in a newline, no ASCII control character (below U+0020) but the newline. Anything else
    is allowed, as Go's ``note`` package allows it: U+007F, U+00A0, U+00AD, U+2028, and
    empty lines (the signatures follow the *last* one; formats such as checkpoints forbid
    empty lines themselves)."""
    if not text.endswith("\n"):
        raise NoteError("note text must end with a newline")
    if any(c != "\n" and is_control(c) for c in text):
        raise NoteError("note text must not contain ASCII control characters but newlines")


def parse_signature_line(line: str) -> Signature:
    """One ``— name base64`` line (without or with its newline)."""
    line = line.removesuffix("\n")
    if not line.startswith(SIGNATURE_PREFIX):
        raise NoteError(f"not a signature line: {line!r}")
    name, _, encoded = line[len(SIGNATURE_PREFIX) :].partition(" ")
    if not valid_key_name(name) or not encoded:
        raise NoteError(f"malformed signature line: {line!r}")
    try:
        decoded = base64.b64decode(encoded, validate=True)
    except binascii.Error as exc:
        raise NoteError(f"signature is not base64: {line!r}") from exc
    if len(decoded) < 5:
        raise NoteError(f"signature too short: {line!r}")
    return Signature(name, decoded[:4], decoded[4:])


def parse_note(message: str) -> Note:
    """Split a signed note into text and signature lines; NoteError if malformed."""
    text, separator, signatures = message.rpartition("\n\n")  # the last empty line
    if not separator:
        raise NoteError("no blank line between the text and the signatures")
    text += "\n"
    check_text(text)
    if not signatures.endswith("\n"):
        raise NoteError("signature lines must end with a newline")
    lines = signatures.removesuffix("\n").split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError("too many signatures")
    return Note(text, tuple(parse_signature_line(line) for line in lines))


def sign_note(text: str, signers: list[Signer]) -> str:
    """A signed note: the text, a blank line and each signer's 0x01 signature."""
    check_text(text)
    return text + "\n" + "".join(signer.sign_text(text) for signer in signers)
