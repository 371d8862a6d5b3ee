"""Offline verifier of the audit log: an auditor runs it without trusting the operators.

    python -m audit.verify bundle.json            # or: audit-verify bundle.json
    python -m audit.verify --mongo-uri URI --database lt_audit [--keys keys.json]

It checks an evidence bundle, an inclusion or consistency proof (the API's JSON), or a
whole log (a JSON export, or read straight from the store with ``--mongo-uri``). For
every entry it recomputes the event hash from the canonical event, the Merkle leaf and
the hash chain; it checks every checkpoint's Ed25519 signature, recomputes the Merkle
root at each checkpoint (so all checkpoints are consistent with one sequence of
entries) and verifies inclusion and consistency proofs (RFC 9162). It stops at the
first problem and names it: ``FAIL entry 17 (event id …): event hash mismatch``.

Exit status: 0 valid, 1 a check failed, 2 the input could not be read.
Depends only on the standard library, ``cryptography``, ``rfc8785`` and the pure
``audit.domain`` and ``audit.merkle`` modules (pymongo only for ``--mongo-uri``).
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from audit import merkle
from audit.domain import (
    GENESIS_HASH,
    Checkpoint,
    canonical_json,
    chain_hash,
    entry_leaf_hash,
    format_log_time,
    key_id_of,
    sha256,
)

LOG_FORMAT = "lienthong-audit-log/1"
Doc = dict[str, Any]


class Failed(Exception):
    """A check failed at ``where``."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where, self.message = where, message


# -- Building blocks ---------------------------------------------------------------------


def read_keys(keys: Sequence[Doc]) -> dict[str, bytes]:
    """Public keys by key id; an id must be the one derived from its key."""
    found: dict[str, bytes] = {}
    for key in keys:
        raw = base64.b64decode(key["public_key"])
        if key_id_of(raw) != key["key_id"]:
            raise Failed(f"key {key['key_id']}", "key id does not match its public key")
        found[key["key_id"]] = raw
    return found


def check_checkpoint(value: Doc, keys: dict[str, bytes], log_id: str | None) -> Checkpoint:
    """A checkpoint whose signature verifies with its (known) key."""
    checkpoint = Checkpoint.from_json(value)
    where = f"checkpoint at tree size {checkpoint.tree_size}"
    if log_id is not None and checkpoint.log_id != log_id:
        raise Failed(where, f"belongs to log {checkpoint.log_id!r}, not {log_id!r}")
    if checkpoint.key_id not in keys:
        raise Failed(where, f"signed by unknown key {checkpoint.key_id}")
    if not checkpoint.signature_valid(keys[checkpoint.key_id]):
        raise Failed(where, f"signature does not verify with key {checkpoint.key_id}")
    return checkpoint


def entry_label(entry: Doc) -> str:
    return f"entry {entry.get('index')} (event id {entry.get('event_id')})"


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
    leaf = entry_leaf_hash(entry["index"], entry["logged_at"], event_hash)
    if leaf.hex() != entry["leaf_hash"]:
        raise Failed(where, "leaf hash mismatch: index, log time or event hash were changed")
    if chain_hash(bytes.fromhex(entry["prev_hash"]), leaf).hex() != entry["chain_hash"]:
        raise Failed(where, "chain hash mismatch")
    return leaf


def check_inclusion(entry: Doc, leaf: bytes, checkpoint: Checkpoint) -> None:
    where = entry_label(entry)
    if entry["index"] >= checkpoint.tree_size:
        raise Failed(where, f"not covered by the checkpoint at tree size {checkpoint.tree_size}")
    path = [bytes.fromhex(h) for h in entry["inclusion_proof"]]
    root = bytes.fromhex(checkpoint.root_hash)
    if not merkle.verify_inclusion(entry["index"], checkpoint.tree_size, leaf, path, root):
        raise Failed(where, f"inclusion proof does not lead to the root of {checkpoint.tree_size}")


# -- Documents ---------------------------------------------------------------------------


def verify_bundle(doc: Doc) -> str:
    """An evidence bundle: every entry proven under one signed checkpoint."""
    checkpoint = check_checkpoint(doc["checkpoint"], read_keys(doc["keys"]), doc["log_id"])
    previous: Doc | None = None
    for entry in doc["entries"]:
        where = entry_label(entry)
        if entry["subject"] != doc["dossier_code"]:
            raise Failed(where, f"belongs to {entry['subject']}, not {doc['dossier_code']}")
        if previous is not None and entry["index"] <= previous["index"]:
            raise Failed(where, f"out of order: after entry {previous['index']}")
        leaf = check_entry(entry)
        if (
            previous is not None
            and previous["index"] == entry["index"] - 1
            and previous["chain_hash"] != entry["prev_hash"]
        ):
            raise Failed(where, f"chain broken: prev_hash is not entry {previous['index']}'s")
        check_inclusion(entry, leaf, checkpoint)
        previous = entry
    return (
        f"bundle of dossier {doc['dossier_code']}: {len(doc['entries'])} entries included in "
        f"log {checkpoint.log_id} at tree size {checkpoint.tree_size} "
        f"(checkpoint {checkpoint.timestamp}, key {checkpoint.key_id})"
    )


def verify_inclusion_document(doc: Doc) -> str:
    """One entry's inclusion proof (GET /v1/audit/proofs/inclusion)."""
    if doc.get("checkpoint") is None:
        raise Failed(f"tree size {doc['tree_size']}", "no signed checkpoint at this size")
    checkpoint = check_checkpoint(doc["checkpoint"], read_keys(doc["keys"]), doc["log_id"])
    entry = doc["entry"]
    check_inclusion(entry, check_entry(entry), checkpoint)
    return f"{entry_label(entry)} is included at tree size {checkpoint.tree_size}"


def verify_consistency_document(doc: Doc) -> str:
    """A consistency proof between two signed checkpoints (GET /v1/audit/proofs/consistency)."""
    keys, roots = read_keys(doc["keys"]), {}
    for side in ("from", "to"):
        size = doc[f"{side}_size"]
        if doc.get(f"{side}_checkpoint") is None:
            raise Failed(f"tree size {size}", "no signed checkpoint at this size")
        checkpoint = check_checkpoint(doc[f"{side}_checkpoint"], keys, doc["log_id"])
        if checkpoint.tree_size != size:
            raise Failed(f"checkpoint at tree size {checkpoint.tree_size}", f"expected {size}")
        roots[side] = bytes.fromhex(checkpoint.root_hash)
    path = [bytes.fromhex(h) for h in doc["proof"]]
    old, new = doc["from_size"], doc["to_size"]
    if not merkle.verify_consistency(old, new, roots["from"], roots["to"], path):
        raise Failed(f"tree sizes {old} -> {new}", "consistency proof does not verify")
    return f"the log at tree size {new} extends the log at tree size {old}"


def verify_log(doc: Doc) -> str:
    """A whole log: every entry, the chain, every checkpoint's signature and root."""
    keys = read_keys(doc["keys"])
    checkpoints = {cp["tree_size"]: cp for cp in doc["checkpoints"]}
    log_id = doc.get("log_id") or next((cp["log_id"] for cp in doc["checkpoints"]), None)
    frontier, prev, verified = merkle.Frontier(), GENESIS_HASH, 0
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
        prev = bytes.fromhex(entry["chain_hash"])
        frontier.append(leaf)
        if position + 1 in checkpoints:
            checkpoint = check_checkpoint(checkpoints[position + 1], keys, log_id)
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
    if head is not None and (head["size"], head["chain_hash"]) != (size, prev.hex()):
        raise Failed("log head", f"records {head['size']} entries; {size} found (truncated?)")
    return (
        f"log {log_id or '(no checkpoint yet)'}: {size} entries, chain intact, "
        f"{len(checkpoints)} checkpoints signed and consistent (latest covers {verified})"
    )


FORMATS = {
    "lienthong-audit-bundle/1": verify_bundle,
    "lienthong-audit-inclusion/1": verify_inclusion_document,
    "lienthong-audit-consistency/1": verify_consistency_document,
    LOG_FORMAT: verify_log,
}


def verify_document(doc: Doc) -> str:
    """Verify any document this module knows; raise Failed at the first problem."""
    check = FORMATS.get(doc.get("format", ""))
    if check is None:
        raise Failed("document", f"unknown format {doc.get('format')!r}")
    try:
        return check(doc)
    except (KeyError, TypeError, ValueError) as exc:
        raise Failed("document", f"malformed: {type(exc).__name__}: {exc}") from exc


# -- Reading the store (optional, needs pymongo) ---------------------------------------


def export_from_mongo(uri: str, database: str, extra_keys: Sequence[Doc] = ()) -> Doc:
    """The whole log as a ``lienthong-audit-log/1`` document, read from the store."""
    from pymongo import MongoClient  # only this option needs the driver

    client: MongoClient[Doc] = MongoClient(uri, tz_aware=True)
    with client:
        db = client[database]
        entries = [
            _entry_from_store(doc) for doc in db["entries"].find({}, {"subtrees": 0}).sort("_id")
        ]
        checkpoints = [
            _drop(doc, "_id", "signed_at") for doc in db["checkpoints"].find().sort("_id")
        ]
        keys = [
            {"key_id": k["_id"], "public_key": k["public_key"]} for k in db["signing_keys"].find()
        ]
        head = db["log_head"].find_one({"_id": "head"})
    return {
        "format": LOG_FORMAT,
        "entries": entries,
        "checkpoints": checkpoints,
        "keys": keys + [{"key_id": k["key_id"], "public_key": k["public_key"]} for k in extra_keys],
        "head": None if head is None else {"size": head["size"], "chain_hash": head["chain_hash"]},
    }


def _drop(doc: Doc, *names: str) -> Doc:
    return {k: v for k, v in doc.items() if k not in names}


def _entry_from_store(doc: Doc) -> Doc:
    entry = _drop(doc, "_id", "canonical")
    entry["index"] = doc["_id"]
    logged_at = doc.get("logged_at")
    entry["logged_at"] = (
        format_log_time(logged_at) if isinstance(logged_at, datetime) else str(logged_at)
    )
    try:
        entry["event"] = json.loads(doc.get("canonical", ""))
    except ValueError:
        entry["event"] = doc.get("canonical")  # reported as "not a JSON object"
    return entry


# -- Command line ----------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="audit-verify", description=__doc__.split("\n\n")[0])
    parser.add_argument("file", nargs="?", type=Path, help="bundle, proof or log export (JSON)")
    parser.add_argument("--mongo-uri", help="verify the whole log in this store instead")
    parser.add_argument("--database", default="lt_audit", help="the audit database name")
    parser.add_argument("--keys", type=Path, help="GET /v1/audit/keys output: extra public keys")
    parser.add_argument("--export", type=Path, help="with --mongo-uri: also write the log as JSON")
    args = parser.parse_args(argv)
    try:
        if args.mongo_uri:
            extra = json.loads(args.keys.read_text())["keys"] if args.keys else []
            doc = export_from_mongo(args.mongo_uri, args.database, extra)
            if args.export:
                args.export.write_text(json.dumps(doc, ensure_ascii=False, indent=1))
        elif args.file:
            doc = json.loads(args.file.read_text(encoding="utf-8"))
        else:
            parser.error("give a file or --mongo-uri")
    except (OSError, ValueError) as exc:
        print(f"ERROR cannot read input: {exc}", file=sys.stderr)
        return 2
    try:
        summary = verify_document(doc)
    except Failed as failure:
        print(f"FAIL {failure.where}: {failure.message}")
        return 1
    print(f"OK {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
