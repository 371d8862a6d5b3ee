"""C2SP cosignatures (c2sp.org/tlog-cosignature), Ed25519 ``cosignature/v1``.

A witness states "as of time T, the largest consistent tree I have seen of this log is
this checkpoint" by signing ``cosignature/v1\\ntime <T>\\n`` followed by the checkpoint's
note text. The signature line carries ``key ID (4) || T (8 bytes, big-endian) ||
Ed25519 signature (64)``; the key ID uses signature type 0x04.

Pure: standard library and ``cryptography`` only.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.transparency.note import COSIGNATURE_V1, Note, NoteError, Signer, Verifier

HEADER = "cosignature/v1\n"
MAX_TIMESTAMP = 2**63 - 1


def signed_message(checkpoint_text: str, timestamp: int) -> bytes:
    """The bytes a cosigner signs for a checkpoint at a POSIX time."""
    return f"{HEADER}time {timestamp}\n{checkpoint_text}".encode()


def cosign(checkpoint_text: str, signer: Signer, timestamp: int) -> str:
    """The cosignature line of a witness key (type 0x04) on a checkpoint."""
    if signer.signature_type != COSIGNATURE_V1:
        raise NoteError("a cosigner key has signature type 0x04")
    if not 0 <= timestamp <= MAX_TIMESTAMP:
        raise NoteError(f"timestamp {timestamp} out of range")
    signature = signer.private_key.sign(signed_message(checkpoint_text, timestamp))
    return signer.signature_line(timestamp.to_bytes(8, "big") + signature)


@dataclass(frozen=True)
class Cosignature:
    """A verified cosignature: who cosigned, and when (POSIX seconds)."""

    name: str
    timestamp: int


def verify_cosignature(note: Note, witness: Verifier) -> Cosignature | None:
    """The witness's valid cosignature on the note's checkpoint, or None."""
    if witness.signature_type != COSIGNATURE_V1:
        return None
    signature = note.signed_by(witness)
    if signature is None or len(signature.signature) != 72:
        return None
    timestamp = int.from_bytes(signature.signature[:8], "big")
    if timestamp > MAX_TIMESTAMP:
        return None
    if not witness.verify(signed_message(note.text, timestamp), signature.signature[8:]):
        return None
    return Cosignature(witness.name, timestamp)
