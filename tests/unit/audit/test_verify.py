"""The offline verifier on hand-built logs and bundles: valid, and each tampering in place."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from audit.domain import canonical_json, entry_leaf_hash, sha256
from audit.verify import Failed, main, verify_document
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.unit.audit.builders import (
    Doc,
    build_bundle,
    build_log,
    checkpoint,
    entries_of,
    entry_of,
    key_doc,
)

ROOT = Path(__file__).resolve().parents[3]
KEY, NEXT_KEY = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()


@pytest.fixture
def log() -> Doc:
    """20 entries, checkpoints at 4, 8 and 16 (key rotated after the first) and 20."""
    return build_log(20, [KEY, NEXT_KEY], [4, 8, 16, 20])


def failure(doc: Doc) -> tuple[str, str]:
    with pytest.raises(Failed) as caught:
        verify_document(doc)
    return caught.value.where, caught.value.message


def test_an_untouched_log_verifies(log: Doc) -> None:
    assert verify_document(log) == (
        "log test-log: 20 entries, chain intact, 4 checkpoints signed and consistent "
        "(latest covers 20)"
    )


def test_an_altered_event_is_reported_at_its_entry(log: Doc) -> None:
    log["entries"][7]["event"]["data"]["unit"] = "someone else"
    assert failure(log) == (
        "entry 7 (event id event-7)",
        "event hash mismatch: the event differs from what was logged",
    )


def test_an_altered_event_with_its_hash_recomputed_breaks_the_leaf(log: Doc) -> None:
    entry = log["entries"][7]
    entry["event"]["data"]["unit"] = "someone else"
    entry["event_hash"] = sha256(canonical_json(entry["event"])).hex()
    assert failure(log)[0] == "entry 7 (event id event-7)"
    assert failure(log)[1].startswith("leaf hash mismatch")


def test_a_changed_log_time_breaks_the_leaf(log: Doc) -> None:
    log["entries"][3]["logged_at"] = "2027-01-01T00:00:00.000Z"
    assert failure(log) == (
        "entry 3 (event id event-3)",
        "leaf hash mismatch: index, log time or event hash were changed",
    )


def test_a_resealed_entry_breaks_the_chain_at_the_next_one(log: Doc) -> None:
    entries = log["entries"]
    body = copy.deepcopy(entries[9]["event"])
    body["data"]["unit"] = "someone else"
    entries[9] = entry_of(9, body, bytes.fromhex(entries[8]["chain_hash"]))
    assert failure(log) == (
        "entry 10 (event id event-10)",
        "chain broken: prev_hash is not entry 9's",
    )


def test_a_rewritten_tail_is_caught_by_the_next_checkpoint(log: Doc) -> None:
    entries = log["entries"]
    bodies = [copy.deepcopy(e["event"]) for e in entries[9:]]
    bodies[0]["data"]["unit"] = "someone else"
    entries[9:] = entries_of(bodies, start=9, prev=bytes.fromhex(entries[8]["chain_hash"]))
    log["head"]["chain_hash"] = entries[-1]["chain_hash"]
    assert failure(log) == (
        "checkpoint at tree size 16",
        "root hash does not match entries 0..15: an entry in 8..15 was rewritten",
    )


def test_a_deleted_entry_is_reported_where_the_gap_is(log: Doc) -> None:
    del log["entries"][5]
    assert failure(log) == ("entry 5", "missing: entry 6 follows 4")


def test_a_deleted_tail_is_reported_by_the_checkpoint_that_covers_it(log: Doc) -> None:
    del log["entries"][-2:]
    assert failure(log) == ("checkpoint at tree size 20", "the log has only 18 entries")


def test_a_deleted_unsigned_tail_is_reported_by_the_head() -> None:
    log = build_log(10, [KEY], [8])
    del log["entries"][-1]
    assert failure(log) == ("log head", "records 10 entries; 9 found (truncated?)")


def test_swapped_entries_are_reported_at_the_first_position(log: Doc) -> None:
    entries = log["entries"]
    entries[3], entries[11] = (
        {**entries[11], "index": 3},
        {**entries[3], "index": 11},
    )
    where, message = failure(log)
    assert where == "entry 3 (event id event-11)"
    assert message.startswith("leaf hash mismatch")


def test_entries_out_of_order_are_reported(log: Doc) -> None:
    entries = log["entries"]
    entries[3], entries[4] = entries[4], entries[3]
    assert failure(log) == ("entry 3", "missing: entry 4 follows 2")


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (
            lambda cp: cp.update(signature=cp["signature"][::-1]),
            "signature does not verify with key",
        ),
        (lambda cp: cp.update(root_hash="00" * 32), "signature does not verify with key"),
        (
            lambda cp: cp.update(timestamp="2020-01-01T00:00:00.000Z"),
            "signature does not verify with key",
        ),
        (lambda cp: cp.update(key_id="0123456789abcdef"), "signed by unknown key 0123456789abcdef"),
        (
            lambda cp: cp.update(log_id="another-log"),
            "belongs to log 'another-log', not 'test-log'",
        ),
    ],
)
def test_a_tampered_checkpoint_is_reported(
    log: Doc, tamper: Callable[[Doc], None], message: str
) -> None:
    tamper(log["checkpoints"][1])
    where, found = failure(log)
    assert where == "checkpoint at tree size 8"
    assert found.startswith(message)


def test_a_checkpoint_signed_by_another_key_than_it_names_fails(log: Doc) -> None:
    log["checkpoints"][2] = checkpoint(log["entries"], 16, KEY) | {
        "key_id": key_doc(NEXT_KEY)["key_id"]
    }
    assert failure(log)[0] == "checkpoint at tree size 16"


def test_a_key_whose_id_does_not_match_is_refused(log: Doc) -> None:
    log["keys"][0]["public_key"] = log["keys"][1]["public_key"]
    assert failure(log) == (
        f"key {log['keys'][0]['key_id']}",
        "key id does not match its public key",
    )


# -- Bundles ---------------------------------------------------------------------------


def test_a_bundle_verifies_and_each_tampering_is_reported(log: Doc) -> None:
    bundle = build_bundle(log, "D-1")
    assert [e["index"] for e in bundle["entries"]] == [0, 3, 6, 9, 12, 15, 18]
    assert verify_document(bundle).startswith("bundle of dossier D-1: 7 entries included in log")

    altered = copy.deepcopy(bundle)
    altered["entries"][2]["event"]["data"]["unit"] = "X"
    assert failure(altered) == (
        "entry 6 (event id event-6)",
        "event hash mismatch: the event differs from what was logged",
    )

    bad_path = copy.deepcopy(bundle)
    bad_path["entries"][4]["inclusion_proof"][1] = "11" * 32
    assert failure(bad_path) == (
        "entry 12 (event id event-12)",
        "inclusion proof does not lead to the root of 20",
    )

    # An entry rebuilt with consistent hashes but not in the signed tree.
    forged = copy.deepcopy(bundle)
    body = forged["entries"][3]["event"]
    body["data"]["unit"] = "X"
    rebuilt = entry_of(9, body, bytes.fromhex(forged["entries"][3]["prev_hash"]))
    forged["entries"][3] = {**rebuilt, "inclusion_proof": forged["entries"][3]["inclusion_proof"]}
    assert failure(forged)[0] == "entry 9 (event id event-9)"
    assert failure(forged)[1].startswith("inclusion proof does not lead")

    foreign = copy.deepcopy(bundle)
    foreign["dossier_code"] = "D-2"
    assert failure(foreign) == ("entry 0 (event id event-0)", "belongs to D-1, not D-2")

    resigned = copy.deepcopy(bundle)
    resigned["checkpoint"]["signature"] = log["checkpoints"][0]["signature"]
    assert failure(resigned)[0] == "checkpoint at tree size 20"

    reordered = copy.deepcopy(bundle)
    reordered["entries"][1], reordered["entries"][2] = (
        reordered["entries"][2],
        reordered["entries"][1],
    )
    assert failure(reordered) == ("entry 3 (event id event-3)", "out of order: after entry 6")


def test_leaf_binds_index_time_and_event() -> None:
    base = entry_leaf_hash(3, "2026-11-26T09:00:00.000Z", "ab" * 32)
    assert base != entry_leaf_hash(4, "2026-11-26T09:00:00.000Z", "ab" * 32)
    assert base != entry_leaf_hash(3, "2026-11-26T09:00:00.001Z", "ab" * 32)
    assert base != entry_leaf_hash(3, "2026-11-26T09:00:00.000Z", "ac" * 32)


# -- The command ---------------------------------------------------------------------


def test_the_command_exits_0_1_or_2(
    log: Doc, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good, bad, garbage = tmp_path / "good.json", tmp_path / "bad.json", tmp_path / "garbage.json"
    good.write_text(json.dumps(build_bundle(log, "D-2"), ensure_ascii=False))
    del log["entries"][5]
    bad.write_text(json.dumps(log))
    garbage.write_text("{not json")

    assert main([str(good)]) == 0
    assert capsys.readouterr().out.startswith("OK bundle of dossier D-2: ")
    assert main([str(bad)]) == 1
    assert capsys.readouterr().out == "FAIL entry 5: missing: entry 6 follows 4\n"
    assert main([str(garbage)]) == 2
    assert main([str(tmp_path / "absent.json")]) == 2
    unknown = tmp_path / "unknown.json"
    unknown.write_text(json.dumps({"format": "something/9"}))
    assert main([str(unknown)]) == 1
    assert "unknown format 'something/9'" in capsys.readouterr().out


def test_the_verifier_needs_none_of_the_service_runtime() -> None:
    probe = (
        "import sys, audit.verify; "
        "heavy = ('pymongo', 'aiokafka', 'fastapi', 'pydantic', 'shared'); "
        "bad = [m for m in heavy if m in sys.modules]; "
        "print(bad)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
