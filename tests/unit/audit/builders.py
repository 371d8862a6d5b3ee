"""Hand-built logs, bundles and trust files for the verifier's unit tests (no store)."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from audit.domain import (
    FIRST_OF_SUBJECT,
    GENESIS_HASH,
    KEY_ROTATED,
    SubjectLink,
    canonical_json,
    format_log_time,
    seal_entry,
    sign_checkpoint,
)
from audit.dossier_index import DossierIndex
from audit.key_chain import rotation_text
from audit.trust import PinnedKey, TrustPolicy
from audit.verify import LOG_FORMAT
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.transparency import merkle
from shared.transparency.cosignature import cosign
from shared.transparency.note import COSIGNATURE_V1, Signer, Verifier, sign_note

LOG_ID = "test-log"
T0 = datetime(2026, 11, 26, 9, tzinfo=UTC)
ROTATION_AT = format_log_time(T0 + timedelta(minutes=6))
Doc = dict[str, Any]


def log_signer(key: Ed25519PrivateKey) -> Signer:
    return Signer(LOG_ID, key)


def witness_signer(name: str) -> Signer:
    return Signer(name, Ed25519PrivateKey.generate(), COSIGNATURE_V1)


WITNESSES = (witness_signer("witness-1"), witness_signer("witness-2"))


def trust(
    key: Ed25519PrivateKey, witnesses: Sequence[Signer] = WITNESSES, quorum: int | None = None
) -> TrustPolicy:
    """A trust file pinning ``key`` (no window) and the witnesses, quorum all by default."""
    return TrustPolicy(
        LOG_ID,
        (PinnedKey(log_signer(key).verifier),),
        tuple(PinnedKey(w.verifier) for w in witnesses),
        len(witnesses) if quorum is None else quorum,
    )


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


def rotation_event(i: int, old: Ed25519PrivateKey, new: Ed25519PrivateKey) -> Doc:
    """The log's own entry: ``old`` hands over to ``new`` at ROTATION_AT."""
    old_key, new_key = log_signer(old).verifier, log_signer(new).verifier
    statement = sign_note(rotation_text(LOG_ID, old_key, new_key, ROTATION_AT), [log_signer(old)])
    return {
        "id": f"event-{i}",
        "type": KEY_ROTATED,
        "subject": "audit-log",
        "source": "/lienthong/audit",
        "specversion": "1.0",
        "time": ROTATION_AT,
        "data": {
            "old_vkey": old_key.vkey(),
            "new_vkey": new_key.vkey(),
            "valid_from": ROTATION_AT,
            "statement": statement,
        },
    }


def entry_of(index: int, body: Doc, prev: bytes, link: SubjectLink = FIRST_OF_SUBJECT) -> Doc:
    sealed = seal_entry(index, T0 + timedelta(seconds=index), canonical_json(body), prev, link)
    return {
        "index": index,
        "logged_at": format_log_time(sealed.logged_at),
        "event_id": body["id"],
        "event_type": body["type"],
        "subject": body["subject"],
        "event": body,
        "event_hash": sealed.event_hash.hex(),
        "subject_previous": link.previous,
        "subject_count": link.count,
        "leaf_hash": sealed.leaf_hash.hex(),
        "prev_hash": sealed.prev_hash.hex(),
        "chain_hash": sealed.chain_hash.hex(),
    }


def entries_of(
    bodies: Sequence[Doc], start: int = 0, prev: bytes = GENESIS_HASH, before: Sequence[Doc] = ()
) -> list[Doc]:
    """Sealed entries for the bodies, chained from ``prev`` at ``start``, linked per subject
    after the entries ``before``."""
    last: dict[str, Doc] = {e["subject"]: e for e in before}
    entries = []
    for offset, body in enumerate(bodies):
        earlier = last.get(body["subject"])
        link = (
            FIRST_OF_SUBJECT
            if earlier is None
            else SubjectLink(earlier["index"], earlier["subject_count"] + 1)
        )
        entries.append(entry_of(start + offset, body, prev, link))
        last[body["subject"]] = entries[-1]
        prev = bytes.fromhex(entries[-1]["chain_hash"])
    return entries


def leaves(entries: Sequence[Doc]) -> list[bytes]:
    return [bytes.fromhex(e["leaf_hash"]) for e in entries]


def dossier_index(entries: Sequence[Doc], size: int) -> DossierIndex:
    """The dossier index of the first ``size`` entries."""
    index = DossierIndex()
    for entry in entries[:size]:
        index.add(entry["index"], entry["subject"])
    return index


def checkpoint(
    entries: Sequence[Doc],
    size: int,
    key: Ed25519PrivateKey,
    witnesses: Sequence[Signer] = WITNESSES,
    at: datetime | None = None,
    *,
    indexed: bool = True,
    index: DossierIndex | None = None,
    time_line: str | None = None,
    cosigned_at: datetime | None = None,
) -> Doc:
    """The checkpoint at ``size`` signed by ``key`` at ``at`` (T0 + size minutes), cosigned
    a second later (or at ``cosigned_at``); with its dossier index (``index``, else the true
    one) unless ``indexed`` is False (as before indexes existed). ``time_line`` replaces the
    text of its ``time`` line (to build malformed ones)."""
    moment = at or T0 + timedelta(minutes=size)
    signed = sign_checkpoint(
        log_signer(key),
        size,
        merkle.root(leaves(entries[:size])).hex(),
        format_log_time(moment) if time_line is None else time_line,
        (index or dossier_index(entries, size)).commitment().value() if indexed else None,
    )
    stamp = int((cosigned_at or moment + timedelta(seconds=1)).timestamp())
    lines = "".join(cosign(signed.text, w, stamp) for w in witnesses)
    return signed.with_cosignatures(lines).as_json()


def build_log(
    size: int,
    keys: Sequence[Ed25519PrivateKey],
    sizes: Sequence[int],
    rotate_at: int = 5,
    *,
    indexed_from: int = 0,
) -> Doc:
    """A log of ``size`` entries with checkpoints at ``sizes``; with two keys, entry
    ``rotate_at`` rotates from the first to the second at ROTATION_AT (T0 + 6 min), and each
    checkpoint is signed by the key valid at its time. Checkpoints below ``indexed_from``
    sign no dossier index (as before indexes existed)."""
    bodies = [event(i) for i in range(size)]
    if len(keys) > 1:
        bodies[rotate_at] = rotation_event(rotate_at, keys[0], keys[1])
    entries = entries_of(bodies)

    def signer_at(n: int) -> Ed25519PrivateKey:
        at = format_log_time(T0 + timedelta(minutes=n))
        return keys[0] if len(keys) == 1 or at < ROTATION_AT else keys[1]

    return {
        "format": LOG_FORMAT,
        "entries": entries,
        "checkpoints": [
            checkpoint(entries, n, signer_at(n), indexed=n >= indexed_from) for n in sizes
        ],
        "head": {"size": size, "chain_hash": entries[-1]["chain_hash"]},
    }


def with_proofs(entries: Sequence[Doc], all_leaves: list[bytes], size: int) -> list[Doc]:
    return [
        {
            **copy.deepcopy(e),
            "inclusion_proof": [
                h.hex() for h in merkle.inclusion_proof(all_leaves, e["index"], size)
            ],
        }
        for e in entries
    ]


def build_bundle(log: Doc, dossier: str) -> Doc:
    """The bundle the API would serve for ``dossier`` from this log at its last checkpoint."""
    cp = log["checkpoints"][-1]
    size, all_leaves = cp["tree_size"], leaves(log["entries"])
    covered = log["entries"][:size]
    head = dossier_index(log["entries"], size).head(dossier) if cp.get("dossiers") else None
    return {
        "format": "lienthong-audit-bundle/3",
        "log_id": LOG_ID,
        "dossier_code": dossier,
        "checkpoint": cp,
        "entries": with_proofs([e for e in covered if e["subject"] == dossier], all_leaves, size),
        "dossier_head": head.as_json() if head else None,
        "key_rotations": with_proofs(
            [e for e in covered if e["event_type"] == KEY_ROTATED], all_leaves, size
        ),
        "pending_entries": 0,
    }


def vkey_of(key: Ed25519PrivateKey) -> Verifier:
    return log_signer(key).verifier
