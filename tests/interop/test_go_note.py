"""Our checkpoints are standard: Go's golang.org/x/mod/sumdb/note verifies one, and
golang.org/x/mod/sumdb/tlog checks one of our inclusion proofs against its root, and a
dossier's head proof against the dossier index root the checkpoint's extension line signs.
The other way round, our verifier accepts a checkpoint Go signed and that
github.com/transparency-dev/formats/note cosigned (cosignature/v1), and both sides agree
on what a note text may hold and that a known witness's bad cosignature rejects the note.

Needs the Go toolchain; the module is fetched through the Go module proxy into
~/.cache/lienthong/go (``infra/test.sh`` downloads it first, with progress).
"""

from __future__ import annotations

import base64
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from audit.domain import read_checkpoint
from audit.dossier_index import head_leaf
from audit.verify import Failed, verify_document
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from infra.go import go_env
from shared.transparency import merkle
from shared.transparency.note import ED25519, key_id, parse_note, sign_note
from tests.unit.audit.builders import (
    LOG_ID,
    WITNESSES,
    build_bundle,
    build_log,
    dossier_index,
    leaves,
    log_signer,
    trust,
    vkey_of,
)

GO_PROGRAM = Path(__file__).resolve().parent / "go"


@pytest.fixture(scope="module")
def checknote(tmp_path_factory: pytest.TempPathFactory) -> Path:
    go = shutil.which("go")
    if go is None:
        pytest.skip("the Go toolchain is not installed (needed for the interoperability test)")
    binary = tmp_path_factory.mktemp("go") / "checknote"
    subprocess.run(
        [go, "build", "-o", str(binary), "."],
        cwd=GO_PROGRAM,
        env=go_env("-modcacherw -mod=readonly"),
        check=True,
        capture_output=True,
        timeout=600,
    )
    return binary


def run(binary: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(binary), *args], capture_output=True, text=True, timeout=60)


def test_go_verifies_our_checkpoint_and_inclusion_proof(checknote: Path, tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    log = build_log(13, [key], [13])
    checkpoint = log["checkpoints"][0]
    note_file = tmp_path / "checkpoint.txt"
    note_file.write_text(checkpoint["note"])
    all_leaves = leaves(log["entries"])
    proof = merkle.inclusion_proof(all_leaves, 6, 13)

    result = run(
        checknote,
        "-vkey", vkey_of(key).vkey(),
        "-note", str(note_file),
        "-index", "6",
        "-leaf", all_leaves[6].hex(),
        "-proof", ",".join(h.hex() for h in proof),
    )  # fmt: skip

    root = checkpoint["note"].splitlines()[2]
    # Three signatures (the log's, two witnesses'); Go verifies the log's, keeps the others.
    assert (result.returncode, result.stdout) == (0, f"included 6\ntest-log 13 {root} 1\n")


def test_go_refuses_a_tampered_checkpoint_or_another_key(checknote: Path, tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    note = build_log(5, [key], [5])["checkpoints"][0]["note"]
    tampered = tmp_path / "tampered.txt"
    tampered.write_text(note.replace("\n5\n", "\n6\n", 1))
    genuine = tmp_path / "genuine.txt"
    genuine.write_text(note)

    assert run(checknote, "-vkey", vkey_of(key).vkey(), "-note", str(tampered)).returncode == 1
    stranger = vkey_of(Ed25519PrivateKey.generate()).vkey()
    refused = run(checknote, "-vkey", stranger, "-note", str(genuine))
    assert refused.returncode == 1 and "does not verify" in refused.stderr


def test_go_checks_a_dossier_head_against_the_signed_dossier_index(
    checknote: Path, tmp_path: Path
) -> None:
    key = Ed25519PrivateKey.generate()
    log = build_log(13, [key], [13])
    note_file = tmp_path / "checkpoint.txt"
    note_file.write_text(log["checkpoints"][0]["note"])
    head = dossier_index(log["entries"], 13).head("D-2")
    assert head is not None

    def check(last: int) -> subprocess.CompletedProcess[str]:
        return run(
            checknote,
            "-vkey", vkey_of(key).vkey(),
            "-note", str(note_file),
            "-tree", "dossiers",
            "-index", str(head.position),
            "-leaf", head_leaf("D-2", last).hex(),
            "-proof", ",".join(h.hex() for h in head.proof),
        )  # fmt: skip

    assert head.last == 11 and check(11).returncode == 0
    assert "included 1" in check(11).stdout
    cut_short = check(8)  # a head that hides entry 11
    assert cut_short.returncode == 1 and "does not verify" in cut_short.stderr


# -- Go signs, we verify: notes, cosignatures, and what the spec allows ------------------


def go_skey(name: str, key: Ed25519PrivateKey) -> str:
    """Go's signer-key text for an Ed25519 key: PRIVATE+KEY+name+hash+base64(0x01 || seed)."""
    seed = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    public = vkey_of(key).public_key
    return f"PRIVATE+KEY+{name}+{key_id(name, ED25519, public).hex()}+" + (
        base64.b64encode(bytes([ED25519]) + seed).decode()
    )


def go_signed(checknote: Path, tmp_path: Path, text: str, key: Ed25519PrivateKey) -> str:
    """The checkpoint text signed by Go with the log's key and cosigned by both witnesses
    with transparency-dev/formats' cosignature/v1 signer."""
    text_file = tmp_path / "text.txt"
    text_file.write_text(text)
    result = run(
        checknote,
        "-sign", str(text_file),
        "-skey", go_skey(LOG_ID, key),
        "-wskeys", ",".join(go_skey(w.name, w.private_key) for w in WITNESSES),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout


def witness_vkeys() -> str:
    return ",".join(w.verifier.vkey() for w in WITNESSES)


@pytest.mark.parametrize("extra", ["", "note a\u00a0b", "note a\u00adb", "note a\u007fb"])
def test_we_verify_a_checkpoint_go_signed_and_cosigned(
    checknote: Path, tmp_path: Path, extra: str
) -> None:
    key = Ed25519PrivateKey.generate()
    log = build_log(13, [key], [13])
    bundle = build_bundle(log, "D-2")
    text = read_checkpoint(bundle["checkpoint"]["note"]).text + (f"{extra}\n" if extra else "")
    bundle["checkpoint"]["note"] = go_signed(checknote, tmp_path, text, key)

    assert verify_document(bundle, trust(key)).startswith("bundle of dossier D-2")
    note_file = tmp_path / "go.txt"
    note_file.write_text(bundle["checkpoint"]["note"])
    known = run(checknote, "-vkey", vkey_of(key).vkey(), "-note", str(note_file),
                "-witnesses", witness_vkeys())  # fmt: skip
    assert known.returncode == 0 and known.stdout.endswith(" 3\n")  # log + 2 cosignatures


def test_a_bad_cosignature_of_a_known_witness_is_rejected_by_go_and_by_us(
    checknote: Path, tmp_path: Path
) -> None:
    key = Ed25519PrivateKey.generate()
    bundle = build_bundle(build_log(13, [key], [13]), "D-2")
    note = go_signed(checknote, tmp_path, read_checkpoint(bundle["checkpoint"]["note"]).text, key)
    lines = note.splitlines(keepends=True)
    second = next(i for i, line in enumerate(lines) if line.startswith("— witness-2 "))
    name, encoded = lines[second].rstrip("\n").rsplit(" ", 1)
    raw = bytearray(base64.b64decode(encoded))
    raw[-1] ^= 1
    lines[second] = f"{name} {base64.b64encode(bytes(raw)).decode()}\n"
    bundle["checkpoint"]["note"] = "".join(lines)
    note_file = tmp_path / "bad.txt"
    note_file.write_text(bundle["checkpoint"]["note"])

    go = run(checknote, "-vkey", vkey_of(key).vkey(), "-note", str(note_file),
             "-witnesses", witness_vkeys())  # fmt: skip
    assert go.returncode == 1 and "invalid signature for key witness-2" in go.stderr
    with pytest.raises(Failed, match=r"cosignature of witness witness-2\+.* does not verify"):
        verify_document(bundle, replace(trust(key), quorum=1))
    # Without the witness keys Go ignores the line, and so do we with no witness pinned.
    assert run(checknote, "-vkey", vkey_of(key).vkey(), "-note", str(note_file)).returncode == 0
    assert verify_document(bundle, trust(key, witnesses=())).startswith("bundle of")


@pytest.mark.parametrize("character", ["\u00a0", "\u00ad", "\u007f", "\u2028"])
def test_go_and_we_agree_on_what_a_note_text_may_hold(
    checknote: Path, tmp_path: Path, character: str
) -> None:
    key = Ed25519PrivateKey.generate()
    log = build_log(5, [key], [5])
    text = read_checkpoint(log["checkpoints"][0]["note"]).text + f"note a{character}b\n"
    ours = sign_note(text, [log_signer(key)])
    note_file = tmp_path / "ours.txt"
    note_file.write_text(ours)
    assert run(checknote, "-vkey", vkey_of(key).vkey(), "-note", str(note_file)).returncode == 0
    assert parse_note(ours).verified_by(vkey_of(key))
