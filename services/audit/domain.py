"""The audit log's format and rules: canonical bytes, entry hashes, the chain, checkpoints.

Pure: no I/O. It imports only the standard library, ``rfc8785``, ``cryptography`` and
``audit.merkle``, so the offline verifier (``audit.verify``) shares these definitions
without depending on the service's runtime. docs/audit.md states the same rules in prose.

- canonical bytes ``C`` of an event: RFC 8785 (JCS) of the envelope's JSON;
- ``event_hash = SHA-256(C)``;
- leaf input: JCS of ``{"event_hash": hex, "index": i, "logged_at": "…Z"}``, so a leaf
  binds the event, its position and the time it was logged;
- ``leaf_hash = SHA-256(0x00 || leaf input)`` (RFC 6962 leaf);
- ``chain_hash(i) = SHA-256(chain_hash(i-1) || leaf_hash(i))``, ``chain_hash(-1)`` = 32 zero bytes;
- a checkpoint signs JCS of ``{"key_id", "log_id", "root_hash", "timestamp", "tree_size"}``
  with Ed25519.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from audit import merkle

GENESIS_HASH = bytes(32)
"""The chain hash "before" entry 0."""
SIGNATURE_ALGORITHM = "Ed25519"


def canonical_json(value: Any) -> bytes:
    """RFC 8785 canonical JSON bytes of a JSON value."""
    return rfc8785.dumps(value)


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def log_time(moment: datetime) -> datetime:
    """A moment in UTC truncated to milliseconds: what the log records (and BSON keeps)."""
    moment = moment.astimezone(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def format_log_time(moment: datetime) -> str:
    """The fixed text form of a log time: ``2026-11-26T09:00:00.123Z``."""
    moment = log_time(moment)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def leaf_input(index: int, logged_at: str, event_hash_hex: str) -> bytes:
    """The bytes a Merkle leaf commits to: the event's hash, its index and its log time."""
    return canonical_json({"event_hash": event_hash_hex, "index": index, "logged_at": logged_at})


def entry_leaf_hash(index: int, logged_at: str, event_hash_hex: str) -> bytes:
    """The entry's Merkle leaf hash (also called the entry hash)."""
    return merkle.leaf_hash(leaf_input(index, logged_at, event_hash_hex))


def chain_hash(prev_hash: bytes, leaf: bytes) -> bytes:
    """The link of an entry to the one before it."""
    return sha256(prev_hash + leaf)


@dataclass(frozen=True)
class SealedEntry:
    """An event fixed at its position: every hash the log stores for it."""

    index: int
    logged_at: datetime
    canonical: bytes
    event_hash: bytes
    leaf_hash: bytes
    prev_hash: bytes
    chain_hash: bytes


def seal_entry(index: int, logged_at: datetime, canonical: bytes, prev_hash: bytes) -> SealedEntry:
    """Compute the hashes of the entry at ``index`` that follows ``prev_hash``."""
    logged_at = log_time(logged_at)
    digest = sha256(canonical)
    leaf = entry_leaf_hash(index, format_log_time(logged_at), digest.hex())
    return SealedEntry(
        index=index,
        logged_at=logged_at,
        canonical=canonical,
        event_hash=digest,
        leaf_hash=leaf,
        prev_hash=prev_hash,
        chain_hash=chain_hash(prev_hash, leaf),
    )


# -- Checkpoints -----------------------------------------------------------------------


def key_id_of(public_key_raw: bytes) -> str:
    """A key's id: the first 16 hex digits of SHA-256 of its raw 32-byte public key."""
    return sha256(public_key_raw).hex()[:16]


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement: the log ``log_id`` had ``tree_size`` entries with this root."""

    log_id: str
    tree_size: int
    root_hash: str  # hex
    timestamp: str  # format_log_time
    key_id: str
    signature: str = ""  # base64 (standard alphabet) Ed25519 signature over body()

    def body(self) -> bytes:
        """The signed bytes."""
        return canonical_json(
            {
                "key_id": self.key_id,
                "log_id": self.log_id,
                "root_hash": self.root_hash,
                "timestamp": self.timestamp,
                "tree_size": self.tree_size,
            }
        )

    def signed_with(self, key: Ed25519PrivateKey) -> Checkpoint:
        """This checkpoint with its signature."""
        signature = base64.b64encode(key.sign(self.body())).decode()
        return Checkpoint(**{**asdict(self), "signature": signature})

    def signature_valid(self, public_key_raw: bytes) -> bool:
        """Whether the signature is this body signed by that public key."""
        try:
            signature = base64.b64decode(self.signature, validate=True)
            Ed25519PublicKey.from_public_bytes(public_key_raw).verify(signature, self.body())
        except (InvalidSignature, ValueError):
            return False
        return True

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> Checkpoint:
        return cls(
            log_id=str(value["log_id"]),
            tree_size=int(value["tree_size"]),
            root_hash=str(value["root_hash"]),
            timestamp=str(value["timestamp"]),
            key_id=str(value["key_id"]),
            signature=str(value.get("signature", "")),
        )


def checkpoint_due(
    *,
    tree_size: int,
    checkpointed_size: int,
    oldest_unsigned_at: datetime | None,
    now: datetime,
    every: int,
    max_age: timedelta,
) -> bool:
    """Whether to sign now: ``every`` unsigned entries, or the oldest one is ``max_age`` old.

    Bounds both how many entries and how long an entry stays without a signed checkpoint.
    Nothing new means no checkpoint.
    """
    unsigned = tree_size - checkpointed_size
    if unsigned <= 0:
        return False
    if unsigned >= every:
        return True
    return oldest_unsigned_at is not None and now - oldest_unsigned_at >= max_age
