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
signed note), its root and its dossier index (``audit.dossier_index``: a bundle must end
at its dossier's last entry below the checkpoint), and inclusion and consistency proofs
(RFC 9162). Given a checkpoint the auditor kept from before (``--previous``, see
``audit.kept``), it proves that the document's log extends it, or reports a fork. It
stops at the first problem and names it: ``FAIL entry 17 (event id …): event hash
mismatch``.

Exit status: 0 valid, 1 a check failed, 2 the input could not be read: a file missing or
not JSON, a trust file that pins no log key, a store that cannot be reached, a document
that is not a well-formed document of a known format (``Unreadable``).
Depends only on the standard library, ``cryptography``, ``rfc8785``, the pure
``audit.domain`` and ``audit.trust`` and ``shared.transparency`` (pymongo for ``--mongo-uri``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from audit.checks import (
    Failed,
    Options,
    Unreadable,
    Verified,
    check_bundle_end,
    check_checkpoint,
    check_consistency,
    check_entry,
    check_inclusion,
    check_link,
    entry_label,
    entry_link,
    follow_rotation,
    key_chain,
)
from audit.domain import GENESIS_HASH, KEY_ROTATED, Checkpoint, read_checkpoint
from audit.dossier_index import DossierIndex
from audit.kept import check_previous, compare_bundles, is_bundle, read_kept
from audit.trust import KeyChain, TrustPolicy, fingerprint_of, load_trust
from shared.transparency import merkle

__all__ = [
    "Failed",
    "Options",
    "Unreadable",
    "Verified",
    "check_previous",
    "main",
    "verify",
    "verify_document",
]

Doc = dict[str, Any]
LOG_FORMAT = "lienthong-audit-log/1"


# -- Documents ---------------------------------------------------------------------------


def verify_bundle(doc: Doc, policy: TrustPolicy, options: Options) -> Verified:
    """An evidence bundle: the dossier's entries, complete and linked, under one checkpoint."""
    chain = key_chain(doc, policy, doc["checkpoint"])
    checkpoint = check_checkpoint(doc["checkpoint"], chain)
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
    end = check_bundle_end(doc, checkpoint, previous, allow_unproven_end=options.allow_unproven_end)
    summary = (
        f"bundle of dossier {doc['dossier_code']}: entries 1..{previous['subject_count']} of "
        f"the dossier, linked and included in log {checkpoint.log_id} at tree size "
        f"{checkpoint.tree_size} (checkpoint {checkpoint.timestamp}, key {checkpoint.key_id}); "
        f"{end}"
    )
    return Verified(summary, checkpoint, chain)


def verify_inclusion_document(doc: Doc, policy: TrustPolicy, options: Options) -> Verified:
    """One entry's inclusion proof (GET /v1/audit/proofs/inclusion)."""
    chain = key_chain(doc, policy, doc.get("checkpoint"))
    checkpoint = check_checkpoint(doc.get("checkpoint"), chain, doc["tree_size"])
    entry = doc["entry"]
    check_inclusion(entry, check_entry(entry), checkpoint)
    summary = f"{entry_label(entry)} is included at tree size {checkpoint.tree_size}"
    return Verified(summary, checkpoint, chain)


def verify_consistency_document(doc: Doc, policy: TrustPolicy, options: Options) -> Verified:
    """A consistency proof between two signed checkpoints (GET /v1/audit/proofs/consistency)."""
    chain = key_chain(doc, policy, doc.get("to_checkpoint"))
    signed = {
        side: check_checkpoint(doc.get(f"{side}_checkpoint"), chain, doc[f"{side}_size"])
        for side in ("from", "to")
    }
    check_consistency(signed["from"], signed["to"], doc["proof"])
    summary = (
        f"the log at tree size {signed['to'].tree_size} extends the log at tree size "
        f"{signed['from'].tree_size}"
    )
    return Verified(summary, signed["to"], chain)


def verify_log(doc: Doc, policy: TrustPolicy, options: Options) -> Verified:
    """A whole log up to its latest signed checkpoint: entries, links, chain, checkpoints."""
    chain = KeyChain(policy)
    checkpoints = listed_by_size(doc["checkpoints"])
    frontier, prev, verified = merkle.Frontier(), GENESIS_HASH, 0
    last_of_subject: dict[str, Doc] = {}
    index, indexed_since, roots = DossierIndex(), None, {}
    latest: Checkpoint | None = None
    if 0 in checkpoints:  # an empty tree's root is SHA-256 of nothing: checked like any
        for latest in check_signed_size(checkpoints[0], chain, 0, frontier.root(), 0):
            indexed_since = check_index(latest, index, indexed_since)
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
        index.add(position, entry["subject"])
        if position + 1 == options.root_at:
            roots[position + 1] = frontier.root()
        if position + 1 in checkpoints:
            listed = checkpoints[position + 1]
            for latest in check_signed_size(
                listed, chain, position + 1, frontier.root(), verified
            ):  # each states the same tree, and each must sign the true dossier index
                indexed_since = check_index(latest, index, indexed_since)
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
    if latest is None:
        raise Failed("log", "no signed checkpoint")
    unsigned = "" if head is None else f"; {head['size'] - size} newer entries not yet signed"
    summary = (
        f"log {policy.origin}: {size} entries, chain and dossier links intact, "
        f"{len(doc['checkpoints'])} checkpoints trusted and consistent "
        f"(latest covers {verified})"
        f"{unsigned}"
    )
    return Verified(summary, latest, chain, roots)


def listed_by_size(listed: Sequence[Doc]) -> dict[int, list[Doc]]:
    """A log's checkpoints grouped by the size they are listed at: every one is checked
    (two of one size are not one, a dictionary by size would keep only the last)."""
    by_size: dict[int, list[Doc]] = {}
    for position, checkpoint in enumerate(listed):
        size = checkpoint["tree_size"]
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise Failed(f"checkpoint {position} of the list", f"tree size {size!r} is not a size")
        by_size.setdefault(size, []).append(checkpoint)
    return by_size


def check_signed_size(
    listed: Sequence[Doc], chain: KeyChain, size: int, root: bytes, verified: int
) -> list[Checkpoint]:
    """Every checkpoint listed at ``size`` is trusted and signs ``root``, the root of the
    entries below it; two trusted ones with different roots are a FORK. Returns them."""
    trusted = [check_checkpoint(signed, chain, size) for signed in listed]
    first = trusted[0]
    for other in trusted[1:]:
        if other.root_hash != first.root_hash:
            raise Failed(
                f"tree size {size}",
                f"FORK: two trusted checkpoints of this size with different roots "
                f"({first.root_hash} signed {first.timestamp}, {other.root_hash} signed "
                f"{other.timestamp})",
            )
    if root.hex() != first.root_hash:
        raise Failed(
            f"checkpoint at tree size {size}",
            f"root hash does not match entries 0..{size - 1}: "
            f"an entry in {verified}..{size - 1} was rewritten"
            if size
            else f"root hash is not the empty tree's ({root.hex()})",
        )
    return trusted


def check_index(checkpoint: Checkpoint, index: DossierIndex, since: int | None) -> int | None:
    """The checkpoint's dossier index is the one its entries give; once checkpoints sign
    one, every later checkpoint must. Returns the size of the first checkpoint with one."""
    where = f"checkpoint at tree size {checkpoint.tree_size}"
    if checkpoint.dossiers is None:
        if since is not None:
            raise Failed(where, f"signs no dossier index, though checkpoints since {since} do")
        return None
    if checkpoint.dossiers != index.commitment().value():
        raise Failed(
            where,
            "dossier index does not match the entries: it misstates some dossier's last entry",
        )
    return checkpoint.tree_size if since is None else since


Check = Callable[[Doc, TrustPolicy, Options], Verified]
FORMATS: dict[str, Check] = {
    "lienthong-audit-bundle/2": verify_bundle,
    "lienthong-audit-bundle/3": verify_bundle,
    "lienthong-audit-inclusion/2": verify_inclusion_document,
    "lienthong-audit-consistency/2": verify_consistency_document,
    LOG_FORMAT: verify_log,
}


def verify(doc: Doc, policy: TrustPolicy, options: Options | None = None) -> Verified:
    """Verify any document this module knows; raise Failed at the first problem
    (Unreadable if it is not a well-formed document of a known format)."""
    if not isinstance(doc, dict):
        raise Unreadable("document", f"not a JSON object but a JSON {type(doc).__name__}")
    check = FORMATS.get(str(doc.get("format", "")))
    if check is None:
        raise Unreadable("document", f"unknown format {doc.get('format')!r}")
    try:
        return check(doc, policy, options or Options())
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise Unreadable("document", f"malformed: {type(exc).__name__}: {exc}") from exc


def verify_document(doc: Doc, policy: TrustPolicy, options: Options | None = None) -> str:
    """What a valid document proves (``verify``'s summary)."""
    return verify(doc, policy, options).summary


# -- Command line ----------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="audit-verify", description=__doc__.split("\n\n")[0])
    parser.add_argument("file", nargs="?", type=Path, help="bundle, proof or log export (JSON)")
    parser.add_argument("--trust", type=Path, required=True, help="the pinned trust file")
    parser.add_argument("--quorum", type=int, help="witness cosignatures required (default: file)")
    parser.add_argument("--mongo-uri", help="verify the whole log in this store instead")
    parser.add_argument("--database", default="lt_audit", help="the audit database name")
    parser.add_argument("--export", type=Path, help="with --mongo-uri: also write the log as JSON")
    parser.add_argument(
        "--previous",
        type=Path,
        help="a checkpoint kept from before (its signed note, or JSON with a 'note' or a "
        "'checkpoint'): prove the log extends it, or report a fork",
    )
    parser.add_argument(
        "--consistency",
        type=Path,
        help="with --previous: the consistency proof (JSON) between its size and the document's",
    )
    parser.add_argument(
        "--allow-unproven-end",
        action="store_true",
        help="accept a bundle whose checkpoint signs no dossier index (from before indexes)",
    )
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
        kept, kept_bundle = read_kept(args.previous) if args.previous else (None, None)
        kept_size = read_checkpoint(kept).tree_size if kept else None
        proof_doc = json.loads(args.consistency.read_text()) if args.consistency else None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"ERROR cannot read input: {exc}", file=sys.stderr)
        return 2
    consistency = isinstance(doc, dict) and doc.get("format") == "lienthong-audit-consistency/2"
    if proof_doc is None and consistency:
        proof_doc = doc
    try:
        options = Options(allow_unproven_end=args.allow_unproven_end, root_at=kept_size)
        verified = verify(doc, policy, options)
        extends = None if kept is None else check_previous(kept, verified, proof_doc)
        if kept_bundle is not None and is_bundle(doc):  # of any format: /2 kept, /3 now
            held = verify(kept_bundle, policy, options)  # the kept bundle is evidence too
            agreed = compare_bundles(
                kept_bundle, held.checkpoint.tree_size, doc, verified.checkpoint.tree_size
            )
            extends = extends if agreed is None else f"{extends}\nOK {agreed}"
    except Unreadable as unreadable:
        print(f"ERROR cannot read input: {unreadable.where}: {unreadable.message}", file=sys.stderr)
        return 2
    except Failed as failure:
        print(f"FAIL {failure.where}: {failure.message}")
        return 1
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        print(
            f"ERROR cannot read input: consistency proof malformed: {type(exc).__name__}: {exc}",
            file=sys.stderr,
        )
        return 2
    print(f"OK {verified.summary}")
    if extends is not None:
        print(f"OK {extends}")
    print(f"   trusting {args.trust} ({fingerprint_of(trust_bytes)}), quorum {policy.quorum}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
