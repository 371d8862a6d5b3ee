"""A checkpoint (or bundle) the auditor kept from before, against a newer document.

An auditor who keeps what it was shown detects a fork without relying on the witnesses:
the document's log must extend the kept checkpoint (same size: same root; otherwise a
consistency proof between them); a document older than the kept checkpoint fails, as
a rollback: it could leave out entries the auditor has already seen. Two bundles of
the same dossier must also agree on the dossier's entries below the older one's size;
a newer bundle that shows an entry the older one left out exposes a false dossier index
signed in the older checkpoint.
Pure: standard library and the verifier's checks.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from audit.checks import Doc, Failed, Verified, check_checkpoint, check_consistency
from audit.domain import read_checkpoint


def is_bundle(doc: Doc) -> bool:
    """Whether a document is a dossier's bundle, of any format version (/2, /3)."""
    return str(doc.get("format", "")).startswith("lienthong-audit-bundle/")


def read_kept(path: Path) -> tuple[str, Doc | None]:
    """The signed note of a kept checkpoint, and the kept bundle if it is one: the note
    itself, or a JSON document holding it (a checkpoint view, an ``audit.checkpoint.v1``
    event, a bundle)."""
    text = path.read_text(encoding="utf-8")
    if not text.lstrip().startswith("{"):
        # A note saved with the newline tools add (``jq -r .note``, ``print``) ends in a
        # blank line no note has; its signatures are verified all the same.
        return text.rstrip("\n") + "\n", None
    doc = json.loads(text)
    if not isinstance(doc, dict):
        raise ValueError(f"{path} is not a JSON object")
    bundle = doc if is_bundle(doc) else None
    for holder in (doc, doc.get("data"), doc.get("checkpoint")):
        if isinstance(holder, dict) and isinstance(holder.get("note"), str):
            return str(holder["note"]), bundle
    raise ValueError(f"{path} holds no checkpoint note")


def check_previous(kept_note: str, verified: Verified, proof_doc: Doc | None) -> str:
    """The document's log extends a checkpoint the auditor kept, or Failed naming the fork;
    a document older than the kept checkpoint fails too (ROLLBACK): it may leave out
    entries the auditor has already seen. ``proof_doc`` is a consistency document between
    the two sizes when the document itself does not give the root at the kept size."""
    stated = read_checkpoint(kept_note).tree_size  # main read it already: well-formed
    try:
        kept = check_checkpoint({"note": kept_note, "tree_size": stated}, verified.chain)
    except Failed as failure:  # "checkpoint at tree size None" said neither which nor whose
        raise Failed(f"kept {failure.where}", failure.message) from None
    current = verified.checkpoint
    where = f"kept checkpoint at tree size {kept.tree_size}"
    computed = verified.roots.get(kept.tree_size)
    if computed is not None:  # a whole log: its entries give the root at that size
        if computed.hex() != kept.root_hash:
            raise Failed(
                where,
                f"FORK: the log's entries 0..{kept.tree_size - 1} have root {computed.hex()}, "
                f"the kept checkpoint (signed {kept.timestamp}) root {kept.root_hash}",
            )
        return f"the log extends the checkpoint you kept at tree size {kept.tree_size}"
    if current.tree_size < kept.tree_size:
        raise Failed(
            where,
            f"ROLLBACK: the document's checkpoint is at tree size {current.tree_size}, older "
            f"than the one you kept: it cannot show what was logged since (for a bundle, the "
            f"dossier's entries up to tree size {kept.tree_size}); ask for a document at tree "
            f"size {kept.tree_size} or later",
        )
    old, new = kept, current
    proof: Sequence[str] = ()
    if old.tree_size != new.tree_size:
        if proof_doc is None or (proof_doc.get("from_size"), proof_doc.get("to_size")) != (
            old.tree_size,
            new.tree_size,
        ):
            raise Failed(
                where,
                f"give --consistency: a consistency proof from tree size {old.tree_size} to "
                f"{new.tree_size} (GET /v1/audit/proofs/consistency?from={old.tree_size}"
                f"&to={new.tree_size})",
            )
        proof = proof_doc["proof"]
    check_consistency(old, new, proof)
    if old.tree_size == new.tree_size:
        return f"the same tree as the checkpoint you kept at tree size {kept.tree_size}"
    return f"the log at tree size {new.tree_size} extends the log at tree size {old.tree_size}"


def compare_bundles(kept: Doc, kept_size: int, current: Doc, current_size: int) -> str | None:
    """Two verified bundles of one dossier agree on its entries below the older one's
    tree size (None if they are of different dossiers). The sizes are those of their
    verified checkpoints (the signed notes), never the unsigned JSON views. Call after
    ``check_previous``."""
    if kept["dossier_code"] != current["dossier_code"]:
        return None
    (size, older), (newer_size, newer) = sorted(
        ((kept_size, kept), (current_size, current)), key=lambda pair: pair[0]
    )
    shown = [(e["index"], e["leaf_hash"]) for e in older["entries"]]
    below = [(e["index"], e["leaf_hash"]) for e in newer["entries"] if e["index"] < size]
    if below == shown:
        return (
            f"both bundles hold the same {len(shown)} entries of the dossier below tree size {size}"
        )
    hidden = sorted({i for i, _ in below} - {i for i, _ in shown})
    if hidden:
        raise Failed(
            f"bundle at tree size {size}",
            f"left out the dossier's entries {hidden}, which the bundle at tree size "
            f"{newer_size} shows below that size: the dossier index "
            "signed in its checkpoint is false",
        )
    raise Failed(
        f"bundle at tree size {size}",
        f"the dossier's entries below tree size {size} differ from the newer bundle's",
    )
