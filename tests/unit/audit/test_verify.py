"""The offline verifier on hand-built logs and bundles: valid, and each tampering in place.

Only the trust file is trusted: pinned log keys (within their windows, or reached by a
logged rotation) and a quorum of pinned witnesses' cosignatures.
"""

from __future__ import annotations

import base64
import copy
import json
import subprocess
import sys
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from audit.domain import SubjectLink, canonical_json, format_log_time, read_checkpoint, sha256
from audit.trust import PinnedKey, TrustPolicy
from audit.verify import Failed, main, verify_document
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.transparency import merkle
from shared.transparency.cosignature import cosign
from tests.unit.audit.builders import (
    T0,
    WITNESSES,
    Doc,
    build_bundle,
    build_log,
    checkpoint,
    entries_of,
    entry_of,
    event,
    leaves,
    log_signer,
    trust,
    vkey_of,
    with_proofs,
    witness_signer,
)

ROOT = Path(__file__).resolve().parents[3]
KEY, NEXT_KEY = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
TRUST = trust(KEY)


@pytest.fixture
def log() -> Doc:
    """20 entries, checkpoints at 4, 8, 16 and 20; entry 5 rotates KEY to NEXT_KEY."""
    return build_log(20, [KEY, NEXT_KEY], [4, 8, 16, 20])


def failure(doc: Doc, policy: TrustPolicy = TRUST) -> tuple[str, str]:
    with pytest.raises(Failed) as caught:
        verify_document(doc, policy)
    return caught.value.where, caught.value.message


def test_an_untouched_log_verifies(log: Doc) -> None:
    assert verify_document(log, TRUST) == (
        "log test-log: 20 entries, chain and dossier links intact, 4 checkpoints trusted and "
        "consistent (latest covers 20); 0 newer entries not yet signed"
    )


def test_entries_beyond_the_latest_checkpoint_are_counted_as_unsigned(log: Doc) -> None:
    """Entries 16..19 listed but no longer covered (the checkpoint at 20 left out) were
    summed as "0 newer entries not yet signed": the head's size minus the entries listed."""
    log["checkpoints"] = log["checkpoints"][:-1]
    assert verify_document(log, TRUST).endswith(
        "(latest covers 16); 4 newer entries not yet signed"
    )


def test_an_empty_store_is_said_to_hold_no_log_at_all() -> None:
    """What --mongo-uri reads from a database without the log (the docs' 27017 command run
    against make run, whose log is on 27018) said only "no signed checkpoint"."""
    empty: Doc = {"format": "lienthong-audit-log/1", "entries": [], "checkpoints": [], "head": None}
    assert failure(empty) == (
        "log",
        "no signed checkpoint (the database holds no log at all: no head, no entry, no "
        "checkpoint; check --mongo-uri and --database)",
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


def test_a_changed_log_time_or_dossier_link_breaks_the_leaf(log: Doc) -> None:
    log["entries"][3]["logged_at"] = "2027-01-01T00:00:00.000Z"
    assert failure(log) == (
        "entry 3 (event id event-3)",
        "leaf hash mismatch: index, log time, dossier link or event hash were changed",
    )
    log = build_log(20, [KEY, NEXT_KEY], [4, 8, 16, 20])
    log["entries"][6]["subject_previous"] = None
    assert failure(log)[1].startswith("leaf hash mismatch")


def test_a_resealed_entry_breaks_the_chain_at_the_next_one(log: Doc) -> None:
    entries = log["entries"]
    body = copy.deepcopy(entries[9]["event"])
    body["data"]["unit"] = "someone else"
    link = link_of(entries[9])
    entries[9] = entry_of(9, body, bytes.fromhex(entries[8]["chain_hash"]), link)
    assert failure(log) == (
        "entry 10 (event id event-10)",
        "chain broken: prev_hash is not entry 9's",
    )


def link_of(entry: Doc) -> SubjectLink:
    return SubjectLink(entry["subject_previous"], entry["subject_count"])


def test_a_rewritten_tail_is_caught_by_the_next_checkpoint(log: Doc) -> None:
    entries = log["entries"]
    bodies = [copy.deepcopy(e["event"]) for e in entries[9:]]
    bodies[0]["data"]["unit"] = "someone else"
    prev = bytes.fromhex(entries[8]["chain_hash"])
    entries[9:] = entries_of(bodies, start=9, prev=prev, before=entries[:9])
    log["head"]["chain_hash"] = entries[-1]["chain_hash"]
    assert failure(log) == (
        "checkpoint at tree size 16",
        "root hash does not match entries 0..15: an entry in 8..15 was rewritten",
    )


def test_a_deleted_entry_is_reported_where_the_gap_is(log: Doc) -> None:
    del log["entries"][6]
    assert failure(log) == ("entry 6", "missing: entry 7 follows 5")


def test_a_deleted_tail_is_reported_by_the_checkpoint_that_covers_it(log: Doc) -> None:
    del log["entries"][-2:]
    assert failure(log) == ("checkpoint at tree size 20", "the log has only 18 entries")


def test_a_head_behind_the_signed_entries_is_reported() -> None:
    log = build_log(10, [KEY], [8, 10])
    log["head"]["size"] = 9
    assert failure(log) == ("log head", "records 9 entries; 10 are signed (rolled back?)")


def test_swapped_entries_are_reported_at_the_first_position(log: Doc) -> None:
    entries = log["entries"]
    entries[3], entries[11] = ({**entries[11], "index": 3}, {**entries[3], "index": 11})
    where, message = failure(log)
    assert where == "entry 3 (event id event-11)"
    assert message.startswith("leaf hash mismatch")


def test_entries_out_of_order_are_reported(log: Doc) -> None:
    entries = log["entries"]
    entries[3], entries[4] = entries[4], entries[3]
    assert failure(log) == ("entry 3", "missing: entry 4 follows 2")


# -- Pinned trust ----------------------------------------------------------------------


def test_every_listed_checkpoint_is_checked_and_a_same_size_fork_is_named(log: Doc) -> None:
    """The review: checkpoints were kept in a dict by size, so a validly signed fork of the
    same size was dropped ("4 checkpoints trusted" with 5 listed), and a size-0 entry was
    never looked at."""
    bodies = [copy.deepcopy(e["event"]) for e in log["entries"]]
    bodies[2]["data"]["unit"] = "another history"
    fork = checkpoint(entries_of(bodies), 16, NEXT_KEY)
    forked = copy.deepcopy(log)
    forked["checkpoints"].insert(2, fork)  # the fork first, the genuine one after it
    where, message = failure(forked)
    assert where == "tree size 16"
    assert message.startswith("FORK: two trusted checkpoints of this size with different roots")
    forked["checkpoints"][2], forked["checkpoints"][3] = log["checkpoints"][2], fork
    assert failure(forked)[1].startswith("FORK: ")

    twice = copy.deepcopy(log)
    twice["checkpoints"].append(copy.deepcopy(log["checkpoints"][-1]))
    assert ", 5 checkpoints trusted and consistent" in verify_document(twice, TRUST)

    garbage = copy.deepcopy(log)
    garbage["checkpoints"].insert(0, {"tree_size": 0, "note": "garbage"})
    assert failure(garbage) == (
        "checkpoint at tree size 0",
        "not a signed checkpoint note: no blank line between the text and the signatures",
    )
    bogus_root = copy.deepcopy(log)
    bogus_root["checkpoints"].insert(0, checkpoint(log["entries"], 4, KEY))
    bogus_root["checkpoints"][0]["tree_size"] = 0
    assert failure(bogus_root) == (
        "checkpoint at tree size 0",
        "the signed note states tree size 4",
    )
    empty = copy.deepcopy(log)
    empty["checkpoints"].insert(0, checkpoint(log["entries"], 0, KEY))
    assert ", 5 checkpoints trusted and consistent" in verify_document(empty, TRUST)
    negative = copy.deepcopy(log)
    negative["checkpoints"][0]["tree_size"] = -4
    assert failure(negative) == ("checkpoint 0 of the list", "tree size -4 is not a size")


def test_a_checkpoint_with_an_altered_note_is_not_trusted(log: Doc) -> None:
    cp = log["checkpoints"][1]
    cp["note"] = cp["note"].replace("\n8\n", "\n9\n", 1)
    where, message = failure(log)
    assert where == "checkpoint at tree size 8"
    assert message == (
        f"the signature of log key test-log+{vkey_of(NEXT_KEY).key_hash} does not verify: "
        "the note is rejected"
    )


def test_a_checkpoint_re_signed_with_an_unpinned_key_is_refused(log: Doc) -> None:
    intruder = Ed25519PrivateKey.generate()
    log["checkpoints"][2] = checkpoint(log["entries"], 16, intruder)
    where, message = failure(log)
    assert where == "checkpoint at tree size 16"
    assert message.startswith("not signed by a pinned log key (signature key IDs: ")
    assert vkey_of(intruder).key_hash in message


def test_a_key_outside_its_window_is_refused() -> None:
    log = build_log(10, [KEY], [4, 10])
    until = format_log_time(T0 + timedelta(minutes=5))
    windowed = replace(TRUST, log_keys=(PinnedKey(vkey_of(KEY), None, until),))
    assert failure(log, windowed) == (
        "checkpoint at tree size 10",
        f"signed at 2026-11-26T09:10:00.000Z by key {vkey_of(KEY).key_hash}, outside its "
        f"validity window [-∞, {until})",
    )


def test_a_rotation_logged_and_signed_by_the_old_key_is_followed(log: Doc) -> None:
    # Without the logged rotation the new key is not trusted.
    log["entries"][5:] = entries_of(
        [event(i) for i in range(5, 20)],
        start=5,
        prev=bytes.fromhex(log["entries"][4]["chain_hash"]),
        before=log["entries"][:5],
    )
    log["checkpoints"] = [
        checkpoint(log["entries"], 4, KEY),
        checkpoint(log["entries"], 8, NEXT_KEY),
    ]
    assert failure(log)[0] == "checkpoint at tree size 8"
    assert failure(log)[1].startswith("not signed by a pinned log key")
    # After a rotation the old key may no longer sign.
    rotated = build_log(20, [KEY, NEXT_KEY], [4, 8])
    rotated["checkpoints"][1] = checkpoint(rotated["entries"], 8, KEY)
    assert failure(rotated)[1].startswith("signed at 2026-11-26T09:08:00.000Z by key ")


def test_a_rotation_signed_by_another_key_is_refused() -> None:
    other = Ed25519PrivateKey.generate()
    log = build_log(20, [other, NEXT_KEY], [4, 8], rotate_at=3)
    log["checkpoints"][0] = checkpoint(log["entries"], 4, KEY)
    assert failure(log) == (
        "entry 3 (event id event-3)",
        f"rotation from key {vkey_of(other).key_hash}, which is not trusted",
    )


def test_a_quorum_of_pinned_witnesses_must_cosign(log: Doc) -> None:
    lone = checkpoint(log["entries"], 16, NEXT_KEY, witnesses=WITNESSES[:1])
    log["checkpoints"][2] = lone
    assert failure(log) == (
        "checkpoint at tree size 16",
        "cosigned by 1 of 2 pinned witnesses (witness-1); the quorum is 2",
    )
    assert verify_document(log, replace(TRUST, quorum=1)).startswith("log test-log: 20 entries")
    strangers = [witness_signer("witness-1"), witness_signer("witness-2")]
    log["checkpoints"][2] = checkpoint(log["entries"], 16, NEXT_KEY, witnesses=strangers)
    assert failure(log)[1].startswith("cosigned by 0 of 2 pinned witnesses (none)")


def test_an_invalid_signature_of_a_known_key_rejects_the_note(log: Doc) -> None:
    """c2sp.org/signed-note: a known key's signature that fails to verify SHOULD reject the
    whole note (Go's note.Open does), even when the other signatures reach the quorum."""
    cp = log["checkpoints"][2]
    lines = cp["note"].splitlines(keepends=True)
    witness_2 = next(i for i, line in enumerate(lines) if line.startswith("— witness-2 "))
    name, encoded = lines[witness_2].rstrip("\n").rsplit(" ", 1)
    raw = bytearray(base64.b64decode(encoded))
    raw[-1] ^= 1  # the Ed25519 signature, not the key ID or the time
    lines[witness_2] = f"{name} {base64.b64encode(bytes(raw)).decode()}\n"
    cp["note"] = "".join(lines)
    second = WITNESSES[1].verifier
    assert failure(log, replace(TRUST, quorum=1)) == (
        "checkpoint at tree size 16",
        f"the cosignature of witness witness-2+{second.key_hash} does not verify: "
        "the note is rejected",
    )
    # A stranger's line of the same name (another key ID) is ignored, as the spec says.
    stranger = witness_signer("witness-2")
    log["checkpoints"][2] = checkpoint(log["entries"], 16, NEXT_KEY, witnesses=[WITNESSES[0]])
    note = log["checkpoints"][2]["note"]
    log["checkpoints"][2]["note"] += cosign(read_checkpoint(note).text, stranger, 1)
    assert verify_document(log, replace(TRUST, quorum=1)).startswith("log test-log: 20 entries")


def test_a_bad_signature_of_a_second_pinned_log_key_rejects_the_note() -> None:
    other = Ed25519PrivateKey.generate()
    log = build_log(8, [KEY], [8])
    both = replace(TRUST, log_keys=(PinnedKey(vkey_of(KEY)), PinnedKey(vkey_of(other))))
    cp = log["checkpoints"][0]
    text = read_checkpoint(cp["note"]).text
    forged = log_signer(other).signature_line(bytes(64))  # the right key ID, a wrong signature
    cp["note"] = cp["note"].replace("\n\n", "\n\n" + forged, 1)
    assert text + "\n" + forged in cp["note"]
    assert failure(log, both) == (
        "checkpoint at tree size 8",
        f"the signature of log key test-log+{vkey_of(other).key_hash} does not verify: "
        "the note is rejected",
    )
    assert verify_document(log, TRUST).startswith("log test-log: 8 entries")  # unknown: ignored


def test_a_cosignature_outside_its_witness_keys_window_fails(log: Doc) -> None:
    """Checkpoint n is cosigned at 09:n:01; witness-1's key is pinned until 09:10."""
    until = format_log_time(T0 + timedelta(minutes=10))
    first, second = (PinnedKey(w.verifier) for w in WITNESSES)
    retired = replace(TRUST, witnesses=(replace(first, valid_until=until), second))
    assert failure(log, retired) == (
        "checkpoint at tree size 16",
        f"cosigned by witness witness-1 (key {first.verifier.key_hash}) at "
        f"2026-11-26T09:16:01.000Z, outside its validity window [-∞, {until})",
    )
    since = format_log_time(T0 + timedelta(minutes=5))
    not_yet = replace(TRUST, witnesses=(first, replace(second, valid_from=since)))
    assert failure(log, not_yet)[0] == "checkpoint at tree size 4"
    inside = replace(TRUST, witnesses=(replace(first, valid_from=format_log_time(T0)), second))
    assert verify_document(log, inside).startswith("log test-log: 20 entries")


# -- Bundles ---------------------------------------------------------------------------


def test_a_bundle_verifies_and_each_tampering_is_reported(log: Doc) -> None:
    bundle = build_bundle(log, "D-1")
    assert [e["index"] for e in bundle["entries"]] == [0, 3, 6, 9, 12, 15, 18]
    assert verify_document(bundle, TRUST).startswith(
        "bundle of dossier D-1: entries 1..7 of the dossier, linked and included in log "
        "test-log at tree size 20"
    )

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

    forged = copy.deepcopy(bundle)
    body = forged["entries"][3]["event"]
    body["data"]["unit"] = "X"
    prev = bytes.fromhex(forged["entries"][3]["prev_hash"])
    rebuilt = entry_of(9, body, prev, link_of(forged["entries"][3]))
    forged["entries"][3] = {**rebuilt, "inclusion_proof": forged["entries"][3]["inclusion_proof"]}
    assert failure(forged)[0] == "entry 9 (event id event-9)"
    assert failure(forged)[1].startswith("inclusion proof does not lead")

    foreign = copy.deepcopy(bundle)
    foreign["dossier_code"] = "D-2"
    assert failure(foreign) == ("entry 0 (event id event-0)", "belongs to D-1, not D-2")

    reordered = copy.deepcopy(bundle)
    reordered["entries"][1], reordered["entries"][2] = (
        reordered["entries"][2],
        reordered["entries"][1],
    )
    assert failure(reordered) == (
        "entry 6 (event id event-6)",
        "follows the dossier's entry 3, not entry 0: an entry of the dossier is missing",
    )


def test_a_bundle_says_its_clear_personal_data_is_not_verified(log: Doc) -> None:
    """The API shows sealed fields in clear in ``personal_data``, outside the hashed
    event: a bundle whose clear text was changed verified with a plain OK, as if the
    names and reasons an auditor reads there were proven too."""
    bundle = build_bundle(log, "D-2")
    assert "personal_data" not in verify_document(bundle, TRUST)
    bundle["entries"][0]["personal_data"] = {"data.reason": "made up afterwards"}
    bundle["entries"][1]["personal_data"] = {"erased": True}
    assert verify_document(bundle, TRUST).endswith(
        "; the personal_data of 1 entries (clear text beside the sealed values, unhashed) "
        "is NOT verified"
    )


@pytest.mark.parametrize(
    ("dropped", "where", "message"),
    [
        (0, "entry 3 (event id event-3)", "the dossier's entry 0 before this one is missing"),
        (
            3,
            "entry 12 (event id event-12)",
            "follows the dossier's entry 9, not entry 6: an entry of the dossier is missing",
        ),
    ],
)
def test_an_entry_dropped_from_a_bundle_is_detected(
    log: Doc, dropped: int, where: str, message: str
) -> None:
    bundle = build_bundle(log, "D-1")
    del bundle["entries"][dropped]
    assert failure(bundle) == (where, message)


def test_a_bundle_without_its_key_rotations_does_not_verify(log: Doc) -> None:
    bundle = build_bundle(log, "D-2")
    bundle["key_rotations"] = []
    assert failure(bundle)[1].startswith("not signed by a pinned log key")


def test_a_bundle_forged_with_a_fresh_key_and_fresh_witnesses_is_refused(log: Doc) -> None:
    """The attack of issue 10: rewrite a hand-over, recompute everything, sign anew."""
    bodies = [copy.deepcopy(e["event"]) for e in log["entries"]]
    bodies[9]["data"]["unit"] = "a new holder"
    entries = entries_of(bodies)
    fresh_key = Ed25519PrivateKey.generate()
    fresh_witnesses = [witness_signer("witness-1"), witness_signer("witness-2")]
    cp = checkpoint(entries, 20, fresh_key, witnesses=fresh_witnesses)
    forged = {
        **build_bundle(log, "D-1"),
        "checkpoint": cp,
        "entries": with_proofs([e for e in entries if e["subject"] == "D-1"], leaves(entries), 20),
        "key_rotations": [],
    }
    assert merkle.root(leaves(entries)).hex() == json.loads(json.dumps(cp))["root_hash"]
    assert failure(forged)[1].startswith("not signed by a pinned log key")
    # It holds together: only an auditor who pinned the forger's keys would accept it.
    assert verify_document(forged, trust(fresh_key, fresh_witnesses)).startswith("bundle of")


# -- The command -----------------------------------------------------------------------


def test_the_command_exits_0_1_or_2(
    log: Doc, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trust_file = tmp_path / "trust.json"
    trust_file.write_bytes(TRUST.file_bytes())
    good, bad, garbage = tmp_path / "good.json", tmp_path / "bad.json", tmp_path / "garbage.json"
    good.write_text(json.dumps(build_bundle(log, "D-2"), ensure_ascii=False))
    del log["entries"][6]
    bad.write_text(json.dumps(log))
    garbage.write_text("{not json")
    trusted = ["--trust", str(trust_file)]

    assert main([*trusted, str(good)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("OK bundle of dossier D-2: ")
    assert f"({TRUST.fingerprint()}), quorum 2" in out
    assert main([*trusted, str(bad)]) == 1
    assert capsys.readouterr().out == "FAIL entry 6: missing: entry 7 follows 5\n"
    assert main([*trusted, str(garbage)]) == 2
    assert main([*trusted, str(tmp_path / "absent.json")]) == 2
    assert main(["--trust", str(garbage), str(good)]) == 2
    unknown = tmp_path / "unknown.json"
    unknown.write_text(json.dumps({"format": "something/9"}))
    assert main([*trusted, str(unknown)]) == 2
    assert "unknown format 'something/9'" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # no trust file, no verification
        main([str(good)])


def test_what_cannot_be_read_exits_2_with_a_message_not_a_traceback(
    log: Doc, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The review: a JSON array raised AttributeError (exit 1 with a traceback), an
    unreachable store ServerSelectionTimeoutError (1), a trust file pinning no log key was
    read and then every document failed (1), bad hex gave "FAIL document: malformed" (1)."""
    trust_file = tmp_path / "trust.json"
    trust_file.write_bytes(TRUST.file_bytes())
    bundle = build_bundle(log, "D-2")
    bad_hex = copy.deepcopy(bundle)
    bad_hex["entries"][0]["inclusion_proof"][0] = "zz"
    no_keys = TRUST.document()
    no_keys["log"]["keys"] = []
    files = {
        "array.json": "[1, 2]",
        "bad-hex.json": json.dumps(bad_hex),
        "no-entries.json": json.dumps({k: v for k, v in bundle.items() if k != "entries"}),
        "bundle.json": json.dumps(bundle),
        "no-keys.json": json.dumps(no_keys),
        "proof-array.json": "[]",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)

    def run(*args: str, trust: Path = trust_file) -> tuple[int, str, str]:
        status = main(["--trust", str(trust), *args])
        captured = capsys.readouterr()
        return status, captured.out, captured.err

    assert run(str(tmp_path / "array.json")) == (
        2, "", "ERROR cannot read input: document: not a JSON object but a JSON list\n"
    )  # fmt: skip
    status, out, err = run(str(tmp_path / "bad-hex.json"))
    assert (status, out) == (2, "") and err.startswith(
        "ERROR cannot read input: document: malformed: ValueError: non-hexadecimal number"
    )
    status, out, err = run(str(tmp_path / "no-entries.json"))
    assert (status, out, err) == (
        2, "", "ERROR cannot read input: document: malformed: KeyError: 'entries'\n"
    )  # fmt: skip
    status, out, err = run(str(tmp_path / "bundle.json"), trust=tmp_path / "no-keys.json")
    assert (status, out) == (2, "") and "the trust file pins no log key" in err
    status, out, err = run(str(tmp_path / "bundle.json"), "--previous",
                           str(tmp_path / "bundle.json"), "--consistency",
                           str(tmp_path / "proof-array.json"))  # fmt: skip
    assert status == 0  # same size: no proof needed, the given one is not read
    unreachable = "mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=100&connectTimeoutMS=100"
    status, out, err = run("--mongo-uri", unreachable)
    assert (status, out) == (2, "")
    assert err.startswith("ERROR cannot read input: cannot read the audit store: ")
    assert "Traceback" not in err


def test_hostile_inputs_exit_2_with_a_message_not_a_traceback(
    log: Doc, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """JSON nested deeper than the parser goes (RecursionError) in the document, the trust
    file or the kept checkpoint, a kept JSON whose ``data`` is not an object
    (AttributeError), and a trust file whose witnesses are not a list of objects: each
    escaped ``main`` as a traceback with exit status 1, read as a failed check."""
    trust_file = tmp_path / "trust.json"
    trust_file.write_bytes(TRUST.file_bytes())
    bundle = tmp_path / "bundle.json"
    bundle.write_text(json.dumps(build_bundle(log, "D-2"), ensure_ascii=False))
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000)
    deep_object = tmp_path / "deep-object.json"
    deep_object.write_text('{"a":' * 100_000)
    data_text = tmp_path / "data-text.json"
    data_text.write_text('{"data": "x", "checkpoint": 5}')
    bad_witnesses = TRUST.document()
    bad_witnesses["witnesses"] = [5]
    bad_trust = tmp_path / "bad-trust.json"
    bad_trust.write_text(json.dumps(bad_witnesses))

    def run(*args: str, trust: Path = trust_file) -> tuple[int, str, str]:
        status = main(["--trust", str(trust), *args])
        captured = capsys.readouterr()
        return status, captured.out, captured.err

    for args, pinned, message in [
        ((str(deep),), trust_file, "maximum recursion depth"),
        ((str(bundle),), deep, "maximum recursion depth"),
        (("--previous", str(deep_object), str(bundle)), trust_file, "maximum recursion depth"),
        (("--previous", str(bundle), "--consistency", str(deep), str(bundle)), trust_file,
         "maximum recursion depth"),
        (("--previous", str(data_text), str(bundle)), trust_file, "holds no checkpoint note"),
        ((str(bundle),), bad_trust, "a key is not an object with a vkey"),
    ]:  # fmt: skip
        status, out, err = run(*args, trust=pinned)
        assert (status, out) == (2, ""), (args, out, err)
        assert err.startswith("ERROR cannot read input: ") and message in err, (args, err)


def test_the_verifier_needs_none_of_the_service_runtime() -> None:
    probe = (
        "import sys, audit.verify; "
        "heavy = ('pymongo', 'aiokafka', 'fastapi', 'pydantic', 'shared.events', 'shared.mongo'); "
        "bad = [m for m in sys.modules if m.startswith(heavy)]; "
        "print(bad)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
