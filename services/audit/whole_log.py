"""Verifying a whole log up to its latest signed checkpoint (``audit.verify``'s
``lienthong-audit-log/1`` documents): every entry, the hash chain, the dossier links,
every listed checkpoint (a FORK if two of one size disagree) and the dossier index
each signs. Pure, like the rest of the verifier.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from audit.checks import (
    Failed,
    Options,
    Verified,
    check_checkpoint,
    check_entry,
    check_link,
    entry_label,
    entry_link,
    follow_rotation,
)
from audit.domain import GENESIS_HASH, KEY_ROTATED, Checkpoint
from audit.dossier_index import DossierIndex
from audit.key_chain import KeyChain
from audit.trust import TrustPolicy
from shared.transparency import merkle

Doc = dict[str, Any]


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
        nothing = head is None and not doc["entries"] and not doc["checkpoints"]
        raise Failed(
            "log",
            "no signed checkpoint"
            + (
                " (the database holds no log at all: no head, no entry, no checkpoint; "
                "check --mongo-uri and --database)"
                if nothing
                else ""
            ),
        )
    # Newer than the latest checkpoint: those the head records beyond the listed entries,
    # and listed entries no checkpoint covers yet (an export ends at the latest one).
    unsigned = "" if head is None else f"; {head['size'] - verified} newer entries not yet signed"
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
