"""Offline verifier of the audit log: an auditor runs it without trusting the operators.

    python -m audit.verify --trust trust.json bundle.json      # or: audit-verify …
    python -m audit.verify --trust trust.json --mongo-uri URI --database lt_audit

It trusts only the trust file (``audit.trust``): the log keys pinned there (and keys
reached from them by rotation statements logged in the log), each within its validity
window, and a quorum of the pinned witnesses' cosignatures. Keys carried by a document
are ignored. It checks an evidence bundle, an inclusion or consistency proof (the API's
JSON), or a whole log (a JSON export, or read from the store up to its latest signed
checkpoint). For every entry it recomputes the event hash, the Merkle leaf (which binds
the entry's place in its dossier) and the hash chain; it checks every checkpoint (C2SP
signed note) and its root, and inclusion and consistency proofs (RFC 9162). It stops at
the first problem and names it: ``FAIL entry 17 (event id …): event hash mismatch``.

Exit status: 0 valid, 1 a check failed, 2 the input could not be read.
Depends only on the standard library, ``cryptography``, ``rfc8785``, the pure
``audit.domain`` and ``audit.trust`` and ``shared.transparency`` (pymongo for ``--mongo-uri``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from audit.domain import (
    GENESIS_HASH,
    KEY_ROTATED,
    Checkpoint,
    SubjectLink,
    canonical_json,
    chain_hash,
    entry_leaf_hash,
    sha256,
)
from audit.trust import KeyChain, TrustError, TrustPolicy, fingerprint_of, load_trust
from shared.transparency import merkle

Doc = dict[str, Any]
LOG_FORMAT = "lienthong-audit-log/1"


class Failed(Exception):
    """A check failed at ``where``."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where, self.message = where, message


# -- Building blocks ---------------------------------------------------------------------


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


# -- Documents ---------------------------------------------------------------------------


def verify_bundle(doc: Doc, policy: TrustPolicy) -> str:
    """An evidence bundle: the dossier's entries, complete and linked, under one checkpoint."""
    checkpoint = check_checkpoint(doc["checkpoint"], key_chain(doc, policy, doc["checkpoint"]))
    previous: Doc | None = None
    for entry in doc["entries"]:
        where = entry_label(entry)
        if entry["subject"] != doc["dossier_code"]:
            raise Failed(where, f"belongs to {entry['subject']}, not {doc['dossier_code']}")
        if previous is not None and entry["index"] <= previous["index"]:
            raise Failed(where, f"out of order: after entry {previous['index']}")
        check_inclusion(entry, check_entry(entry), checkpoint)
        check_link(entry, previous)
        previous = entry
    if previous is None:
        raise Failed("bundle", "holds no entry")
    return (
        f"bundle of dossier {doc['dossier_code']}: entries 1..{previous['subject_count']} of "
        f"the dossier, linked and included in log {checkpoint.log_id} at tree size "
        f"{checkpoint.tree_size} (checkpoint {checkpoint.timestamp}, key {checkpoint.key_id})"
    )


def verify_inclusion_document(doc: Doc, policy: TrustPolicy) -> str:
    """One entry's inclusion proof (GET /v1/audit/proofs/inclusion)."""
    chain = key_chain(doc, policy, doc.get("checkpoint"))
    checkpoint = check_checkpoint(doc.get("checkpoint"), chain, doc["tree_size"])
    entry = doc["entry"]
    check_inclusion(entry, check_entry(entry), checkpoint)
    return f"{entry_label(entry)} is included at tree size {checkpoint.tree_size}"


def verify_consistency_document(doc: Doc, policy: TrustPolicy) -> str:
    """A consistency proof between two signed checkpoints (GET /v1/audit/proofs/consistency)."""
    chain = key_chain(doc, policy, doc.get("to_checkpoint"))
    roots = {}
    for side in ("from", "to"):
        checkpoint = check_checkpoint(doc.get(f"{side}_checkpoint"), chain, doc[f"{side}_size"])
        roots[side] = bytes.fromhex(checkpoint.root_hash)
    path = [bytes.fromhex(h) for h in doc["proof"]]
    old, new = doc["from_size"], doc["to_size"]
    if not merkle.verify_consistency(old, new, roots["from"], roots["to"], path):
        raise Failed(f"tree sizes {old} -> {new}", "consistency proof does not verify")
    return f"the log at tree size {new} extends the log at tree size {old}"


def verify_log(doc: Doc, policy: TrustPolicy) -> str:
    """A whole log up to its latest signed checkpoint: entries, links, chain, checkpoints."""
    chain = KeyChain(policy)
    checkpoints = {cp["tree_size"]: cp for cp in doc["checkpoints"]}
    frontier, prev, verified = merkle.Frontier(), GENESIS_HASH, 0
    last_of_subject: dict[str, Doc] = {}
    for position, entry in enumerate(doc["entries"]):
        if entry["index"] > position:
            raise Failed(
                f"entry {position}", f"missing: entry {entry['index']} follows {position - 1}"
            )
        if entry["index"] < position:
            raise Failed(f"entry {position}", f"out of order: entry {entry['index']} found here")
        leaf = check_entry(entry)
        if entry["prev_hash"] != prev.hex():
            raise Failed(
                entry_label(entry), f"chain broken: prev_hash is not entry {position - 1}'s"
            )
        before = last_of_subject.get(entry["subject"])
        if entry_link(entry) is not None and (before is None or entry_link(before) is not None):
            check_link(entry, before)
        last_of_subject[entry["subject"]] = entry
        if entry["event_type"] == KEY_ROTATED:
            follow_rotation(entry, chain)
        prev = bytes.fromhex(entry["chain_hash"])
        frontier.append(leaf)
        if position + 1 in checkpoints:
            checkpoint = check_checkpoint(checkpoints[position + 1], chain, position + 1)
            if frontier.root().hex() != checkpoint.root_hash:
                raise Failed(
                    f"checkpoint at tree size {checkpoint.tree_size}",
                    f"root hash does not match entries 0..{position}: "
                    f"an entry in {verified}..{position} was rewritten",
                )
            verified = position + 1
    size = len(doc["entries"])
    beyond = sorted(n for n in checkpoints if n > size)
    if beyond:
        raise Failed(f"checkpoint at tree size {beyond[0]}", f"the log has only {size} entries")
    head = doc.get("head")
    if head is not None and head["size"] < size:
        raise Failed(
            "log head", f"records {head['size']} entries; {size} are signed (rolled back?)"
        )
    unsigned = "" if head is None else f"; {head['size'] - size} newer entries not yet signed"
    return (
        f"log {policy.origin}: {size} entries, chain and dossier links intact, "
        f"{len(checkpoints)} checkpoints trusted and consistent (latest covers {verified})"
        f"{unsigned}"
    )


FORMATS = {
    "lienthong-audit-bundle/2": verify_bundle,
    "lienthong-audit-inclusion/2": verify_inclusion_document,
    "lienthong-audit-consistency/2": verify_consistency_document,
    LOG_FORMAT: verify_log,
}


def verify_document(doc: Doc, policy: TrustPolicy) -> str:
    """Verify any document this module knows; raise Failed at the first problem."""
    check = FORMATS.get(doc.get("format", ""))
    if check is None:
        raise Failed("document", f"unknown format {doc.get('format')!r}")
    try:
        return check(doc, policy)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise Failed("document", f"malformed: {type(exc).__name__}: {exc}") from exc


# -- Command line ----------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="audit-verify", description=__doc__.split("\n\n")[0])
    parser.add_argument("file", nargs="?", type=Path, help="bundle, proof or log export (JSON)")
    parser.add_argument("--trust", type=Path, required=True, help="the pinned trust file")
    parser.add_argument("--quorum", type=int, help="witness cosignatures required (default: file)")
    parser.add_argument("--mongo-uri", help="verify the whole log in this store instead")
    parser.add_argument("--database", default="lt_audit", help="the audit database name")
    parser.add_argument("--export", type=Path, help="with --mongo-uri: also write the log as JSON")
    args = parser.parse_args(argv)
    try:
        trust_bytes = args.trust.read_bytes()
        policy = load_trust(json.loads(trust_bytes), args.quorum)
        if args.mongo_uri:
            from audit.export import export_from_mongo  # only this option needs the driver

            doc = export_from_mongo(args.mongo_uri, args.database)
            if args.export:
                args.export.write_text(json.dumps(doc, ensure_ascii=False, indent=1))
        elif args.file:
            doc = json.loads(args.file.read_text(encoding="utf-8"))
        else:
            parser.error("give a file or --mongo-uri")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"ERROR cannot read input: {exc}", file=sys.stderr)
        return 2
    try:
        summary = verify_document(doc, policy)
    except Failed as failure:
        print(f"FAIL {failure.where}: {failure.message}")
        return 1
    print(f"OK {summary}")
    print(f"   trusting {args.trust} ({fingerprint_of(trust_bytes)}), quorum {policy.quorum}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
