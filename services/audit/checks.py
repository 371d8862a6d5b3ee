"""The verifier's checks of single things: an entry, a dossier link, an inclusion proof,
a checkpoint under the trust file, the end of a bundle, a consistency proof.

Each raises ``Failed`` naming where and what; ``audit.verify`` applies them to whole
documents. Pure: standard library, ``audit.domain``, ``audit.trust``,
``audit.dossier_index`` and ``shared.transparency``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from audit.domain import (
    KEY_ROTATED,
    Checkpoint,
    SubjectLink,
    canonical_json,
    chain_hash,
    entry_leaf_hash,
    sha256,
)
from audit.dossier_index import DossierHead, IndexCommitment
from audit.key_chain import KeyChain
from audit.trust import TrustError, TrustPolicy
from shared.transparency import merkle

Doc = dict[str, Any]


@dataclass(frozen=True)
class Options:
    """How strict to be beyond the trust file."""

    allow_unproven_end: bool = False
    """Accept a bundle whose checkpoint signs no dossier index (signed before indexes
    existed): then that its last entry is the dossier's last is not proven."""
    root_at: int | None = None
    """A whole log: also compute the root at this size (that of a kept checkpoint)."""


@dataclass
class Verified:
    """A document that verified: what it proves, its latest trusted checkpoint, the keys."""

    summary: str
    checkpoint: Checkpoint
    chain: KeyChain
    roots: dict[int, bytes] = field(default_factory=dict)
    """Roots the verifier computed itself from entries (a whole log: at ``root_at``)."""


class Failed(Exception):
    """A check failed at ``where``."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where, self.message = where, message


class Unreadable(Failed):
    """The document is not one the verifier can check: not a JSON object, an unknown
    format, or malformed (a field missing, of the wrong type, hex that is not hex). The
    command exits 2 for it, as for a file it cannot read; 1 is kept for a check that
    failed on a well-formed document."""


def check_checkpoint(value: Doc | None, chain: KeyChain, size: int | None = None) -> Checkpoint:
    """A checkpoint the trust file accepts (its note; the JSON view is not trusted)."""
    where = (
        f"checkpoint at tree size {size if size is not None else (value or {}).get('tree_size')}"
    )
    if not value or not value.get("note"):
        raise Failed(where, "no signed checkpoint note")
    try:
        checkpoint = chain.verify_checkpoint(value["note"])
    except TrustError as error:
        raise Failed(where, str(error)) from None
    if size is not None and checkpoint.tree_size != size:
        raise Failed(where, f"the signed note states tree size {checkpoint.tree_size}")
    return checkpoint


def entry_label(entry: Doc) -> str:
    return f"entry {entry.get('index')} (event id {entry.get('event_id')})"


def entry_link(entry: Doc) -> SubjectLink | None:
    """The entry's place in its dossier, if it was logged with one."""
    if "subject_count" not in entry:
        return None
    return SubjectLink(previous=entry["subject_previous"], count=entry["subject_count"])


def check_entry(entry: Doc) -> bytes:
    """Recompute an entry's event hash, leaf hash and chain link; return its leaf hash."""
    where, event = entry_label(entry), entry.get("event")
    if not isinstance(event, dict):
        raise Failed(where, "the event is not a JSON object")
    if (event.get("id"), event.get("type"), event.get("subject")) != (
        entry["event_id"],
        entry["event_type"],
        entry["subject"],
    ):
        raise Failed(where, "event id, type or subject differ from the event's own")
    event_hash = sha256(canonical_json(event)).hex()
    if event_hash != entry["event_hash"]:
        raise Failed(where, "event hash mismatch: the event differs from what was logged")
    leaf = entry_leaf_hash(entry["index"], entry["logged_at"], event_hash, entry_link(entry))
    if leaf.hex() != entry["leaf_hash"]:
        raise Failed(
            where, "leaf hash mismatch: index, log time, dossier link or event hash were changed"
        )
    if chain_hash(bytes.fromhex(entry["prev_hash"]), leaf).hex() != entry["chain_hash"]:
        raise Failed(where, "chain hash mismatch")
    return leaf


def check_link(entry: Doc, before: Doc | None) -> None:
    """The entry names the dossier's entry before it (none if it is the first) and its count."""
    link, where = entry_link(entry), entry_label(entry)
    if link is None:
        raise Failed(where, "has no dossier link (logged before links): completeness unprovable")
    if before is None and link.previous is not None:
        raise Failed(where, f"the dossier's entry {link.previous} before this one is missing")
    if before is not None and link.previous != before["index"]:
        raise Failed(
            where,
            f"follows the dossier's entry {link.previous}, not entry {before['index']}: "
            "an entry of the dossier is missing",
        )
    expected = 1 if before is None else before["subject_count"] + 1
    if link.count != expected:
        raise Failed(where, f"counts {link.count} entries of the dossier, expected {expected}")


def check_inclusion(entry: Doc, leaf: bytes, checkpoint: Checkpoint) -> None:
    where = entry_label(entry)
    if entry["index"] >= checkpoint.tree_size:
        raise Failed(where, f"not covered by the checkpoint at tree size {checkpoint.tree_size}")
    path = [bytes.fromhex(h) for h in entry["inclusion_proof"]]
    root = bytes.fromhex(checkpoint.root_hash)
    if not merkle.verify_inclusion(entry["index"], checkpoint.tree_size, leaf, path, root):
        raise Failed(where, f"inclusion proof does not lead to the root of {checkpoint.tree_size}")


def follow_rotation(entry: Doc, chain: KeyChain) -> None:
    """A logged key rotation: the chain of trusted keys moves on (if the old key signed it)."""
    try:
        chain.follow_rotation(entry["event"]["data"]["statement"])
    except TrustError as error:
        raise Failed(entry_label(entry), str(error)) from None


def key_chain(doc: Doc, policy: TrustPolicy, checkpoint_note: Doc | None) -> KeyChain:
    """The trusted keys after the rotations a document carries (each proven in the log)."""
    chain = KeyChain(policy)
    rotations = doc.get("key_rotations", [])
    for entry in rotations:
        if entry["event_type"] != KEY_ROTATED:
            raise Failed(entry_label(entry), "not a key rotation")
        check_entry(entry)
        follow_rotation(entry, chain)
    if rotations:  # proven in the signed tree, so no rotation is hidden from other auditors
        checkpoint = check_checkpoint(checkpoint_note, chain)
        for entry in rotations:
            check_inclusion(entry, bytes.fromhex(entry["leaf_hash"]), checkpoint)
    return chain


def check_bundle_end(
    doc: Doc, checkpoint: Checkpoint, last: Doc, *, allow_unproven_end: bool
) -> str:
    """The bundle's last entry is its dossier's last below the checkpoint, as the
    checkpoint's signed dossier index states it. Returns what is proven about the end."""
    size, n = checkpoint.tree_size, last["subject_count"]
    if checkpoint.dossiers is None:
        if not allow_unproven_end:
            raise Failed(
                "bundle",
                f"the checkpoint at tree size {size} signs no dossier index (signed before "
                "indexes existed): that no entry of the dossier follows the bundle's last "
                "cannot be proven (--allow-unproven-end accepts it)",
            )
        return f"that entry {n} is the dossier's last below tree size {size} is NOT proven"
    if not doc.get("dossier_head"):
        raise Failed(
            "bundle",
            "holds no dossier_head: that its last entry is the dossier's last is unproven",
        )
    try:
        head = DossierHead.from_json(doc["dossier_head"])
        commitment = IndexCommitment.parse(checkpoint.dossiers)
    except (KeyError, TypeError, ValueError) as exc:
        raise Failed("dossier head", f"malformed: {exc}") from None
    if head.dossier != doc["dossier_code"]:
        raise Failed("dossier head", f"is that of {head.dossier}, not {doc['dossier_code']}")
    if not head.proven_by(commitment):
        raise Failed(
            "dossier head",
            f"not in the dossier index the checkpoint at tree size {size} signed",
        )
    if head.last != last["index"]:
        raise Failed(
            "bundle",
            f"cut short: the checkpoint's dossier index names entry {head.last} as the "
            f"dossier's last below tree size {size}, the bundle ends at entry {last['index']}",
        )
    return f"none follows below tree size {size} (signed dossier index)"


def check_consistency(old: Checkpoint, new: Checkpoint, proof: Sequence[str]) -> None:
    """The tree of ``new`` extends the tree of ``old`` (same size: the same root)."""
    old_root, new_root = bytes.fromhex(old.root_hash), bytes.fromhex(new.root_hash)
    if old.tree_size == new.tree_size and old_root != new_root:
        raise Failed(
            f"tree size {old.tree_size}",
            f"FORK: two trusted checkpoints of this size with different roots "
            f"({old.root_hash} signed {old.timestamp}, {new.root_hash} signed {new.timestamp})",
        )
    path = [bytes.fromhex(h) for h in proof]
    if not merkle.verify_consistency(old.tree_size, new.tree_size, old_root, new_root, path):
        raise Failed(
            f"tree sizes {old.tree_size} -> {new.tree_size}",
            "consistency proof does not verify: the larger tree is not shown to extend the "
            "smaller (a fork, unless a valid proof is produced)",
        )
