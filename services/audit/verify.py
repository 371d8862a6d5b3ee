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
``audit.domain``, ``audit.trust``, ``audit.checks``, ``audit.whole_log`` and
``shared.transparency`` (pymongo for ``--mongo-uri``).
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
    key_chain,
)
from audit.domain import read_checkpoint
from audit.kept import check_previous, compare_bundles, is_bundle, read_kept
from audit.trust import TrustPolicy, fingerprint_of, load_trust
from audit.whole_log import verify_log

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
        f"{end}{unverified_personal_data(doc['entries'])}"
    )
    return Verified(summary, checkpoint, chain)


def unverified_personal_data(entries: list[Doc]) -> str:
    """What the summary says of the ``personal_data`` the API adds to entries: the clear
    text of their sealed fields, outside the hashed event (the log holds only the sealed
    values, which only the dossier's key opens), so it is not verified and a bundle
    whose clear text was changed verifies all the same."""
    shown = sum(1 for e in entries if e.get("personal_data") not in (None, {}, {"erased": True}))
    if not shown:
        return ""
    return (
        f"; the personal_data of {shown} entries (clear text beside the sealed values, "
        "unhashed) is NOT verified"
    )


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
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, RecursionError) as exc:
        raise Unreadable("document", f"malformed: {type(exc).__name__}: {exc}") from exc


def verify_document(doc: Doc, policy: TrustPolicy, options: Options | None = None) -> str:
    """What a valid document proves (``verify``'s summary)."""
    return verify(doc, policy, options).summary


def verify_kept_bundle(bundle: Doc, policy: TrustPolicy, options: Options) -> Verified:
    """The bundle kept from before, verified like the document; a failure names it as the
    kept one (``FAIL kept bundle: entry 7 …``), not as the document just received."""
    try:
        return verify(bundle, policy, options)
    except Unreadable as unreadable:
        raise Unreadable(f"kept bundle: {unreadable.where}", unreadable.message) from None
    except Failed as failure:
        raise Failed(f"kept bundle: {failure.where}", failure.message) from None


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
    except (OSError, ValueError, KeyError, TypeError, RecursionError) as exc:
        # RecursionError: JSON nested deeper than the parser goes ("[[[[…")
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
            held = verify_kept_bundle(kept_bundle, policy, options)  # evidence too
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
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, RecursionError) as exc:
        print(
            f"ERROR cannot read input: consistency proof malformed: {type(exc).__name__}: {exc}",
            file=sys.stderr,
        )
        return 2
    print(f"OK {verified.summary}")
    if extends is not None and extends != verified.summary:  # a consistency document says it
        print(f"OK {extends}")
    print(f"   trusting {args.trust} ({fingerprint_of(trust_bytes)}), quorum {policy.quorum}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
