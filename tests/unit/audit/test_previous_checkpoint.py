"""A checkpoint the auditor kept from before: the verifier proves the log extends it, or
names the fork (two trusted trees that are not one history).

The kept "forked" checkpoints here are signed by the pinned log key and cosigned: the
case where the key holder shows different histories to different auditors (and the
witnesses failed or colluded), which only comparing checkpoints can expose.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from audit.dossier_index import DossierIndex
from audit.verify import Failed, Options, check_previous, main, verify
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.transparency import merkle
from shared.transparency.note import parse_note
from tests.unit.audit.builders import (
    Doc,
    build_bundle,
    build_log,
    checkpoint,
    entries_of,
    leaves,
    trust,
)

KEY = Ed25519PrivateKey.generate()
TRUST = trust(KEY)


@pytest.fixture
def log() -> Doc:
    return build_log(20, [KEY], [8, 20])


def consistency_document(log: Doc, old: int, new: int) -> Doc:
    """What GET /v1/audit/proofs/consistency?from=old&to=new serves for this log."""
    all_leaves = leaves(log["entries"])
    signed = {cp["tree_size"]: cp for cp in log["checkpoints"]}
    return {
        "format": "lienthong-audit-consistency/2",
        "from_size": old,
        "to_size": new,
        "from_root": merkle.root(all_leaves[:old]).hex(),
        "to_root": merkle.root(all_leaves[:new]).hex(),
        "proof": [h.hex() for h in merkle.consistency_proof(all_leaves, old, new)],
        "from_checkpoint": signed.get(old),
        "to_checkpoint": signed.get(new),
        "key_rotations": [],
    }


def forked_checkpoint(log: Doc, size: int) -> Doc:
    """A checkpoint of a different history: entry 2 rewritten, signed by the same key."""
    bodies = [copy.deepcopy(e["event"]) for e in log["entries"]]
    bodies[2]["data"]["unit"] = "another history"
    return checkpoint(entries_of(bodies), size, KEY)


def previous(log_or_bundle: Doc, kept: Doc, proof: Doc | None = None) -> str:
    verified = verify(log_or_bundle, TRUST, Options(root_at=kept["tree_size"]))
    return check_previous(kept["note"], verified, proof)


def refusal(log_or_bundle: Doc, kept: Doc, proof: Doc | None = None) -> tuple[str, str]:
    with pytest.raises(Failed) as caught:
        previous(log_or_bundle, kept, proof)
    return caught.value.where, caught.value.message


def test_a_bundle_extends_a_checkpoint_kept_from_before(log: Doc) -> None:
    bundle, kept = build_bundle(log, "D-1"), log["checkpoints"][0]
    assert previous(bundle, kept, consistency_document(log, 8, 20)) == (
        "the log at tree size 20 extends the log at tree size 8"
    )
    assert previous(bundle, log["checkpoints"][1]) == (
        "the same tree as the checkpoint you kept at tree size 20"
    )


def test_a_document_older_than_the_kept_checkpoint_is_a_rollback(log: Doc) -> None:
    """The auditor already holds the checkpoint at 20: a bundle at 8, though genuine and
    consistent with it, may lack entries the auditor has seen, and must not pass."""
    older = copy.deepcopy(log)
    older["checkpoints"] = older["checkpoints"][:1]
    proof = consistency_document(log, 8, 20)
    expected = (
        "kept checkpoint at tree size 20",
        "ROLLBACK: the document's checkpoint is at tree size 8, older than the one you kept: "
        "it cannot show what was logged since (for a bundle, the dossier's entries up to tree "
        "size 20); ask for a document at tree size 20 or later",
    )
    assert refusal(build_bundle(older, "D-1"), log["checkpoints"][1], proof) == expected
    shorter = copy.deepcopy(older)
    shorter["entries"], shorter["head"] = shorter["entries"][:8], None
    assert refusal(shorter, log["checkpoints"][1]) == expected  # and a whole log


def test_two_trusted_trees_of_one_size_are_a_fork(log: Doc) -> None:
    fork = forked_checkpoint(log, 20)
    where, message = refusal(build_bundle(log, "D-1"), fork)
    assert where == "tree size 20"
    assert message.startswith("FORK: two trusted checkpoints of this size with different roots")


def test_a_kept_checkpoint_the_log_does_not_extend_is_a_fork(log: Doc) -> None:
    fork = forked_checkpoint(log, 8)
    assert refusal(build_bundle(log, "D-1"), fork, consistency_document(log, 8, 20)) == (
        "tree sizes 8 -> 20",
        "consistency proof does not verify: the larger tree is not shown to extend the "
        "smaller (a fork, unless a valid proof is produced)",
    )
    # The whole log gives the root at 8 itself: no proof needed, the fork is certain.
    where, message = refusal(log, fork)
    assert where == "kept checkpoint at tree size 8"
    assert message.startswith("FORK: the log's entries 0..7 have root ")
    assert previous(log, log["checkpoints"][0]).startswith("the log extends the checkpoint")


def test_a_kept_checkpoint_the_trust_file_refuses_is_named_as_the_kept_one(log: Doc) -> None:
    """It failed as "checkpoint at tree size None: not signed by a pinned log key"."""
    stranger = checkpoint(log["entries"], 8, Ed25519PrivateKey.generate())
    where, message = refusal(build_bundle(log, "D-1"), stranger)
    assert where == "kept checkpoint at tree size 8"
    assert message.startswith(
        "not signed by a pinned log key (signature key IDs: "
        f"{parse_note(stranger['note']).signatures[0].key_id.hex()}, "
    )


def test_without_a_proof_the_verifier_says_which_to_fetch(log: Doc) -> None:
    assert refusal(build_bundle(log, "D-1"), log["checkpoints"][0]) == (
        "kept checkpoint at tree size 8",
        "give --consistency: a consistency proof from tree size 8 to 20 "
        "(GET /v1/audit/proofs/consistency?from=8&to=20)",
    )
    unpinned = checkpoint(log["entries"], 8, Ed25519PrivateKey.generate())
    assert refusal(build_bundle(log, "D-1"), unpinned)[1].startswith(
        "not signed by a pinned log key"
    )


def test_the_command_takes_a_kept_checkpoint(
    log: Doc, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = {
        "trust.json": TRUST.file_bytes().decode(),
        "bundle.json": json.dumps(build_bundle(log, "D-1")),
        "kept.txt": log["checkpoints"][0]["note"],
        # As `jq -r .checkpoint.note bundle.json > kept.txt` saves it: one more newline.
        "kept-jq.txt": log["checkpoints"][0]["note"] + "\n",
        "event.json": json.dumps({"data": {"note": log["checkpoints"][0]["note"]}}),
        "fork.txt": forked_checkpoint(log, 20)["note"],
        "proof.json": json.dumps(consistency_document(log, 8, 20)),
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)

    def run(*args: str) -> tuple[int, Any]:
        return main(["--trust", str(tmp_path / "trust.json"), *args]), capsys.readouterr().out

    bundle, proof = str(tmp_path / "bundle.json"), str(tmp_path / "proof.json")
    status, out = run(bundle, "--previous", str(tmp_path / "kept.txt"), "--consistency", proof)
    assert status == 0 and out.splitlines()[1] == (
        "OK the log at tree size 20 extends the log at tree size 8"
    )
    status, out = run(bundle, "--previous", str(tmp_path / "kept-jq.txt"), "--consistency", proof)
    assert status == 0 and "extends the log at tree size 8" in out, out
    status, out = run(bundle, "--previous", str(tmp_path / "event.json"), "--consistency", proof)
    assert status == 0
    status, out = run(proof, "--previous", str(tmp_path / "kept.txt"))  # the proof itself
    assert status == 0 and out.count("extends the log at tree size 8") == 1, out  # not twice
    status, out = run(bundle, "--previous", str(tmp_path / "fork.txt"))
    assert status == 1 and out.startswith("FAIL tree size 20: FORK: ")
    status, out = run(bundle, "--previous", str(tmp_path / "absent.txt"))
    assert status == 2
    log_file = tmp_path / "log.json"
    log_file.write_text(json.dumps(log))
    (tmp_path / "fork8.txt").write_text(forked_checkpoint(log, 8)["note"])
    status, out = run(str(log_file), "--previous", str(tmp_path / "fork8.txt"))
    assert status == 1 and out.startswith("FAIL kept checkpoint at tree size 8: FORK: ")


def test_a_newer_bundle_exposes_a_false_index_in_a_kept_bundle(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The log's key signed, at size 20, an index hiding D-1's entry 18, and served a
    bundle cut to match (it verifies alone). The bundle at 26 shows entry 18 below 20."""
    log = build_log(26, [KEY], [20, 26])
    lying = DossierIndex()
    for entry in log["entries"][:20]:
        lying.add(entry["index"], "D-2" if entry["index"] == 18 else entry["subject"])
    log["checkpoints"][0] = checkpoint(log["entries"], 20, KEY, index=lying)
    at_20 = copy.deepcopy(log)
    at_20["checkpoints"] = at_20["checkpoints"][:1]
    cut = build_bundle(at_20, "D-1")
    cut["entries"] = [e for e in cut["entries"] if e["index"] != 18]
    cut["dossier_head"] = lying.head("D-1").as_json()  # type: ignore[union-attr]
    other = build_bundle(at_20, "D-2")
    other["dossier_head"] = lying.head("D-2").as_json()  # type: ignore[union-attr]
    files = {
        "trust.json": TRUST.file_bytes().decode(),
        "cut.json": json.dumps(cut),
        "newer.json": json.dumps(build_bundle(log, "D-1")),
        "other.json": json.dumps(other),
        "proof.json": json.dumps(consistency_document(log, 20, 26)),
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)

    def run(document: str, kept: str) -> tuple[int, str]:
        status = main(
            [
                "--trust", str(tmp_path / "trust.json"),
                str(tmp_path / document),
                "--previous", str(tmp_path / kept),
                "--consistency", str(tmp_path / "proof.json"),
            ]
        )  # fmt: skip
        return status, capsys.readouterr().out

    assert main(["--trust", str(tmp_path / "trust.json"), str(tmp_path / "cut.json")]) == 0
    capsys.readouterr()
    assert run("newer.json", "cut.json") == (
        1,
        "FAIL bundle at tree size 20: left out the dossier's entries [18], which the bundle "
        "at tree size 26 shows below that size: the dossier index signed in its checkpoint "
        "is false\n",
    )
    status, out = run("newer.json", "other.json")  # another dossier: the trees still compared
    assert status == 0 and "extends the log at tree size 20" in out
    # A bundle kept from before the upgrade (format /2) is compared too: the upgrade is
    # when an auditor holds one of each.
    (tmp_path / "cut2.json").write_text(json.dumps({**cut, "format": "lienthong-audit-bundle/2"}))
    status, out = run("newer.json", "cut2.json")
    assert status == 1 and "left out the dossier's entries [18]" in out


def test_the_command_refuses_a_rolled_back_bundle_and_ignores_the_unsigned_view(
    log: Doc, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The review's case: bundle at 8 checked against a kept bundle at 20 passed with three
    OK lines. And the comparison of two bundles read the JSON ``checkpoint.tree_size``,
    which nothing signs: a genuine bundle with it changed failed on a size that does not
    exist."""
    older = copy.deepcopy(log)
    older["checkpoints"] = older["checkpoints"][:1]
    newer = build_bundle(log, "D-1")
    lying_view = copy.deepcopy(newer)
    lying_view["checkpoint"]["tree_size"] = 5
    files = {
        "trust.json": TRUST.file_bytes().decode(),
        "old.json": json.dumps(build_bundle(older, "D-1")),
        "new.json": json.dumps(newer),
        "view.json": json.dumps(lying_view),
        "proof.json": json.dumps(consistency_document(log, 8, 20)),
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)

    def run(document: str, kept: str) -> tuple[int, list[str]]:
        status = main(
            [
                "--trust", str(tmp_path / "trust.json"),
                str(tmp_path / document),
                "--previous", str(tmp_path / kept),
                "--consistency", str(tmp_path / "proof.json"),
            ]
        )  # fmt: skip
        return status, capsys.readouterr().out.splitlines()

    status, out = run("old.json", "new.json")
    assert status == 1 and out == [
        "FAIL kept checkpoint at tree size 20: ROLLBACK: the document's checkpoint is at tree "
        "size 8, older than the one you kept: it cannot show what was logged since (for a "
        "bundle, the dossier's entries up to tree size 20); ask for a document at tree size "
        "20 or later"
    ]
    for document in ("new.json", "view.json"):
        status, out = run(document, "old.json")
        assert status == 0 and out[1:3] == [
            "OK the log at tree size 20 extends the log at tree size 8",
            "OK both bundles hold the same 3 entries of the dossier below tree size 8",
        ]
    status, out = run("old.json", "view.json")  # the lying view does not hide the rollback
    assert status == 1 and "ROLLBACK" in out[0]


def kept_bundle(log: Doc) -> Doc:
    """D-1's bundle as kept when the log had its first checkpoint only (tree size 8)."""
    older = copy.deepcopy(log)
    older["checkpoints"] = older["checkpoints"][:1]
    return build_bundle(older, "D-1")


def verify_against_kept(tmp_path: Path, log: Doc, kept: Doc) -> int:
    """``audit-verify`` of D-1's bundle now, against ``kept`` and a consistency proof
    from its tree size (8) to the log's (20), as files; its exit status."""
    (tmp_path / "trust.json").write_bytes(TRUST.file_bytes())
    (tmp_path / "old.json").write_text(json.dumps(kept))
    (tmp_path / "new.json").write_text(json.dumps(build_bundle(log, "D-1")))
    (tmp_path / "proof.json").write_text(json.dumps(consistency_document(log, 8, 20)))
    return main(
        [
            "--trust", str(tmp_path / "trust.json"),
            str(tmp_path / "new.json"),
            "--previous", str(tmp_path / "old.json"),
            "--consistency", str(tmp_path / "proof.json"),
        ]
    )  # fmt: skip


def test_two_honest_bundles_of_a_dossier_agree(
    log: Doc, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = verify_against_kept(tmp_path, log, kept_bundle(log))
    lines = capsys.readouterr().out.splitlines()
    assert status == 0 and lines[1:3] == [
        "OK the log at tree size 20 extends the log at tree size 8",
        "OK both bundles hold the same 3 entries of the dossier below tree size 8",
    ]


def test_a_kept_bundle_that_fails_is_named_as_the_kept_one(
    log: Doc, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A kept bundle cut short failed as ``FAIL bundle: cut short …``, word for word what
    the document's own failure says: the auditor could not tell which file is at fault."""
    kept = kept_bundle(log)
    del kept["entries"][-1]
    status = verify_against_kept(tmp_path, log, kept)
    out = capsys.readouterr().out
    assert status == 1 and out.startswith("FAIL kept bundle: bundle: cut short: "), out
