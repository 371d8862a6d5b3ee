"""Our checkpoints are standard: Go's golang.org/x/mod/sumdb/note verifies one, and
golang.org/x/mod/sumdb/tlog checks one of our inclusion proofs against its root, and a
dossier's head proof against the dossier index root the checkpoint's extension line signs.

Needs the Go toolchain; the module is fetched through the Go module proxy into
~/.cache/lienthong/go (``infra/test.sh`` downloads it first, with progress).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from audit.dossier_index import head_leaf
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from infra.go import go_env
from shared.transparency import merkle
from tests.unit.audit.builders import build_log, dossier_index, leaves, vkey_of

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
