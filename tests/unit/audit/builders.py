"""Hand-built logs and bundles for the verifier's unit tests (no store, no service)."""

from __future__ import annotations

import base64
import copy
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from audit import merkle
from audit.domain import (
    GENESIS_HASH,
    Checkpoint,
    canonical_json,
    format_log_time,
    key_id_of,
    seal_entry,
)
from audit.verify import LOG_FORMAT
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

LOG_ID = "test-log"
T0 = datetime(2026, 11, 26, 9, tzinfo=UTC)
Doc = dict[str, Any]


def raw_public(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_doc(key: Ed25519PrivateKey) -> Doc:
    raw = raw_public(key)
    return {"key_id": key_id_of(raw), "public_key": base64.b64encode(raw).decode()}


def event(i: int) -> Doc:
    subject = "D-1" if i % 3 == 0 else "D-2"
    return {
        "id": f"event-{i}",
        "type": "dossier.step.completed.v1",
        "subject": subject,
        "source": "/tests",
        "specversion": "1.0",
        "time": "2026-11-26T09:00:00Z",
        "data": {"dossier_code": subject, "step_index": i, "unit": "Đơn vị ẩn danh"},
    }


def entry_of(index: int, body: Doc, prev: bytes) -> Doc:
    sealed = seal_entry(index, T0 + timedelta(seconds=index), canonical_json(body), prev)
    return {
        "index": index,
        "logged_at": format_log_time(sealed.logged_at),
        "event_id": body["id"],
        "event_type": body["type"],
        "subject": body["subject"],
        "event": body,
        "event_hash": sealed.event_hash.hex(),
        "leaf_hash": sealed.leaf_hash.hex(),
        "prev_hash": sealed.prev_hash.hex(),
        "chain_hash": sealed.chain_hash.hex(),
    }


def entries_of(bodies: Sequence[Doc], start: int = 0, prev: bytes = GENESIS_HASH) -> list[Doc]:
    """Sealed entries for the bodies, chained from ``prev`` at index ``start``."""
    entries = []
    for offset, body in enumerate(bodies):
        entries.append(entry_of(start + offset, body, prev))
        prev = bytes.fromhex(entries[-1]["chain_hash"])
    return entries


def leaves(entries: Sequence[Doc]) -> list[bytes]:
    return [bytes.fromhex(e["leaf_hash"]) for e in entries]


def checkpoint(entries: Sequence[Doc], size: int, key: Ed25519PrivateKey) -> Doc:
    return (
        Checkpoint(
            log_id=LOG_ID,
            tree_size=size,
            root_hash=merkle.root(leaves(entries[:size])).hex(),
            timestamp=format_log_time(T0 + timedelta(minutes=size)),
            key_id=key_id_of(raw_public(key)),
        )
        .signed_with(key)
        .as_json()
    )


def build_log(size: int, keys: Sequence[Ed25519PrivateKey], sizes: Sequence[int]) -> Doc:
    """A log of ``size`` entries with checkpoints at ``sizes``, signed in turn by ``keys``."""
    entries = entries_of([event(i) for i in range(size)])
    return {
        "format": LOG_FORMAT,
        "entries": entries,
        "checkpoints": [
            checkpoint(entries, n, keys[min(i, len(keys) - 1)]) for i, n in enumerate(sizes)
        ],
        "keys": [key_doc(k) for k in keys],
        "head": {"size": size, "chain_hash": entries[-1]["chain_hash"]},
    }


def build_bundle(log: Doc, dossier: str) -> Doc:
    """The bundle the API would serve for ``dossier`` from this log at its last checkpoint."""
    cp = log["checkpoints"][-1]
    size, all_leaves = cp["tree_size"], leaves(log["entries"])
    chosen = [e for e in log["entries"][:size] if e["subject"] == dossier]
    return {
        "format": "lienthong-audit-bundle/1",
        "log_id": LOG_ID,
        "dossier_code": dossier,
        "checkpoint": cp,
        "keys": log["keys"],
        "entries": [
            {
                **copy.deepcopy(e),
                "inclusion_proof": [
                    h.hex() for h in merkle.inclusion_proof(all_leaves, e["index"], size)
                ],
            }
            for e in chosen
        ],
        "pending_entries": 0,
    }
