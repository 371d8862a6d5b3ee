"""A bundle proves it holds all of its dossier's entries below its checkpoint.

Backward dossier links catch an entry dropped at the start or in the middle; the
checkpoint's signed dossier index catches a bundle cut short at the end. What it cannot
catch alone (an operator signing a false index) the whole-log verification names.
"""

from __future__ import annotations

import copy

import pytest
from audit.dossier_index import DossierHead, DossierIndex, IndexCommitment, head_leaf
from audit.verify import Failed, Options, verify_document
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.transparency import merkle
from tests.unit.audit.builders import (
    Doc,
    build_bundle,
    build_log,
    checkpoint,
    dossier_index,
    leaves,
    trust,
    with_proofs,
)

KEY = Ed25519PrivateKey.generate()
TRUST = trust(KEY)


@pytest.fixture
def log() -> Doc:
    """20 entries (D-1 at 0, 3, …, 18; D-2 the others), checkpoints at 8 and 20."""
    return build_log(20, [KEY], [8, 20])


def failure(doc: Doc, options: Options | None = None) -> tuple[str, str]:
    with pytest.raises(Failed) as caught:
        verify_document(doc, TRUST, options)
    return caught.value.where, caught.value.message


def test_a_complete_bundle_verifies_and_says_nothing_follows(log: Doc) -> None:
    bundle = build_bundle(log, "D-1")
    assert bundle["dossier_head"]["last"] == 18
    assert verify_document(bundle, TRUST).endswith(
        "; none follows below tree size 20 (signed dossier index)"
    )


@pytest.mark.parametrize("cut", [1, 2, 6])
def test_a_bundle_cut_short_at_the_end_fails(log: Doc, cut: int) -> None:
    bundle = build_bundle(log, "D-1")
    del bundle["entries"][-cut:]
    ends_at = bundle["entries"][-1]["index"]
    assert failure(bundle) == (
        "bundle",
        "cut short: the checkpoint's dossier index names entry 18 as the dossier's last "
        f"below tree size 20, the bundle ends at entry {ends_at}",
    )


def test_a_bundle_cut_in_the_middle_or_reordered_fails(log: Doc) -> None:
    middle = build_bundle(log, "D-1")
    del middle["entries"][3]
    assert failure(middle) == (
        "entry 12 (event id event-12)",
        "follows the dossier's entry 9, not entry 6: an entry of the dossier is missing",
    )
    reordered = build_bundle(log, "D-1")
    entries = reordered["entries"]
    entries[-1], entries[-2] = entries[-2], entries[-1]
    assert failure(reordered) == (
        "entry 18 (event id event-18)",
        "follows the dossier's entry 15, not entry 12: an entry of the dossier is missing",
    )


def test_a_dossier_head_rewritten_to_match_the_cut_is_not_in_the_signed_index(
    log: Doc,
) -> None:
    bundle = build_bundle(log, "D-1")
    del bundle["entries"][-1]
    bundle["dossier_head"]["last"] = 15
    assert failure(bundle) == (
        "dossier head",
        "not in the dossier index the checkpoint at tree size 20 signed",
    )


def test_another_dossiers_head_or_none_is_refused(log: Doc) -> None:
    bundle = build_bundle(log, "D-1")
    bundle["dossier_head"] = build_bundle(log, "D-2")["dossier_head"]
    assert failure(bundle) == ("dossier head", "is that of D-2, not D-1")
    bundle["dossier_head"] = None
    assert failure(bundle) == (
        "bundle",
        "holds no dossier_head: that its last entry is the dossier's last is unproven",
    )
    bundle["dossier_head"] = {"dossier": "D-1", "last": -1, "position": 0}
    assert failure(bundle)[0] == "dossier head"


def test_a_downgraded_bundle_still_meets_the_index_its_checkpoint_signs(log: Doc) -> None:
    """Relabelling a cut bundle as the older format does not switch the check off: the
    checkpoint itself states the dossier index."""
    bundle = build_bundle(log, "D-1")
    del bundle["entries"][-1]
    bundle["format"] = "lienthong-audit-bundle/2"
    del bundle["dossier_head"]
    assert failure(bundle)[1].startswith("holds no dossier_head")


def test_a_cut_bundle_re_signed_with_an_unpinned_key_is_refused(log: Doc) -> None:
    """The forger recomputes an index in which D-1 ends at entry 15 and signs it itself."""
    bundle = build_bundle(log, "D-1")
    del bundle["entries"][-1]
    forged_key = Ed25519PrivateKey.generate()
    lying = lying_index(log["entries"], 20)
    bundle["checkpoint"] = checkpoint(log["entries"], 20, forged_key, index=lying)
    head = lying.head("D-1")
    assert head is not None and head.last == 15
    bundle["dossier_head"] = head.as_json()
    assert failure(bundle)[1].startswith("not signed by a pinned log key")


def lying_index(entries: list[Doc], size: int) -> DossierIndex:
    """An index of the first ``size`` entries that hides D-1's entry 18 (booked to D-2)."""
    index = DossierIndex()
    for entry in entries[:size]:
        index.add(entry["index"], "D-2" if entry["index"] == 18 else entry["subject"])
    return index


def test_what_a_bundle_cannot_prove_alone_a_false_index_signed_by_the_log(log: Doc) -> None:
    """Documented limit: the log's own key can sign a false index (the witnesses cosign
    the tree, not the index). The cut bundle then verifies; the whole log, with the same
    checkpoint, names the lie."""
    lying = lying_index(log["entries"], 20)
    log["checkpoints"][-1] = checkpoint(log["entries"], 20, KEY, index=lying)
    bundle = build_bundle(log, "D-1")
    del bundle["entries"][-1]
    bundle["dossier_head"] = lying.head("D-1").as_json()  # type: ignore[union-attr]

    assert "entries 1..6 of the dossier" in verify_document(bundle, TRUST)
    assert failure(log) == (
        "checkpoint at tree size 20",
        "dossier index does not match the entries: it misstates some dossier's last entry",
    )


def test_a_whole_log_needs_an_index_on_every_checkpoint_once_one_has_it() -> None:
    mixed = build_log(20, [KEY], [4, 8, 16, 20], indexed_from=8)
    assert verify_document(mixed, TRUST).startswith("log test-log: 20 entries")
    log = build_log(20, [KEY], [4, 8, 16, 20])
    log["checkpoints"][2] = checkpoint(log["entries"], 16, KEY, indexed=False)
    assert failure(log) == (
        "checkpoint at tree size 16",
        "signs no dossier index, though checkpoints since 4 do",
    )


def test_a_bundle_under_a_checkpoint_from_before_indexes_fails_unless_allowed() -> None:
    """Migration: such a bundle proves entries 1..n linked from the first, not that none
    follows; the verifier says so, and accepts it only when told to."""
    old = build_log(20, [KEY], [8, 20], indexed_from=21)
    bundle = build_bundle(old, "D-1")
    assert bundle["dossier_head"] is None
    assert failure(bundle)[1].startswith(
        "the checkpoint at tree size 20 signs no dossier index (signed before indexes existed)"
    )
    del bundle["entries"][-1]
    assert verify_document(bundle, TRUST, Options(allow_unproven_end=True)).endswith(
        "; that entry 6 is the dossier's last below tree size 20 is NOT proven"
    )


def test_the_index_is_a_standard_merkle_tree_over_sorted_dossiers(log: Doc) -> None:
    index = dossier_index(log["entries"], 20)
    expected = [head_leaf("D-1", 18), head_leaf("D-2", 19)]
    assert index.commitment() == IndexCommitment(2, merkle.root(expected))
    assert IndexCommitment.parse(index.commitment().value()) == index.commitment()
    head = index.head("D-2")
    assert head == DossierHead("D-2", 19, 1, 2, (expected[0],))
    assert index.head("D-3") is None
    with pytest.raises(ValueError):
        index.add(21, "D-1")  # fed out of order


def test_a_bundle_cut_to_an_earlier_checkpoint_is_the_dossier_at_that_size(log: Doc) -> None:
    """A bundle may honestly be older: under the checkpoint at 8, D-1 ends at entry 6."""
    all_leaves = leaves(log["entries"])
    bundle = build_bundle(log, "D-1")
    bundle["checkpoint"] = log["checkpoints"][0]
    bundle["entries"] = with_proofs(
        [e for e in log["entries"][:8] if e["subject"] == "D-1"], all_leaves, 8
    )
    bundle["dossier_head"] = dossier_index(log["entries"], 8).head("D-1").as_json()  # type: ignore[union-attr]
    assert "entries 1..3 of the dossier" in verify_document(bundle, TRUST)
    stale = copy.deepcopy(bundle)
    stale["checkpoint"] = log["checkpoints"][1]
    assert failure(stale)[1].startswith("inclusion proof does not lead to the root of 20")
