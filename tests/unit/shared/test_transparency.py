"""C2SP signed notes, checkpoints, cosignatures and the witness request body (pure)."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.transparency.checkpoint import CheckpointBody, parse_checkpoint
from shared.transparency.cosignature import cosign, verify_cosignature
from shared.transparency.note import (
    COSIGNATURE_V1,
    NoteError,
    Signer,
    parse_note,
    parse_vkey,
    sign_note,
)
from shared.transparency.witness_protocol import AddCheckpoint, parse_add_checkpoint

# The example of golang.org/x/mod/sumdb/note's documentation.
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_NOTE = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
    "\n"
    "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqd"
    "ngotpRZb6KE6RyyBwJnAM=\n"
)


def test_the_go_documentation_example_verifies() -> None:
    verifier = parse_vkey(GO_VKEY)
    note = parse_note(GO_NOTE)
    assert verifier.vkey() == GO_VKEY
    assert note.verified_by(verifier)
    assert note.encode() == GO_NOTE
    assert not parse_note(GO_NOTE.replace("answer", "Answer")).verified_by(verifier)


def test_a_signed_note_round_trips_and_names_its_key() -> None:
    signer = Signer("example.com/log", Ed25519PrivateKey.generate())
    message = sign_note("hello\nworld\n", [signer])
    note = parse_note(message)
    assert note.text == "hello\nworld\n" and note.encode() == message
    assert note.verified_by(parse_vkey(signer.verifier.vkey()))
    other = Signer("example.com/log", Ed25519PrivateKey.generate())
    assert not note.verified_by(other.verifier)  # same name, other key ID


@pytest.mark.parametrize(
    "bad",
    [
        "no blank line\n— a AAAA\n",
        "text\n\n— name not-base64!\n",
        "text\n\nnot a signature line\n",
        "text\n\n— a AAAAAAAA",  # no final newline
        "tab\there\n\n— a AAAAAAAA\n",
    ],
)
def test_malformed_notes_are_refused(bad: str) -> None:
    with pytest.raises(NoteError):
        parse_note(bad)


@pytest.mark.parametrize("character", ["\u00a0", "\u00ad", "\u007f", "\u2028", "\ufeff"])
def test_what_the_spec_allows_in_a_note_text_is_accepted(character: str) -> None:
    """c2sp.org/signed-note forbids only ASCII controls below U+0020 (but the newline); the
    review found these refused ("must not contain control characters") where Go accepts
    them. The Go side is checked in tests/interop."""
    signer = Signer("example.com/log", Ed25519PrivateKey.generate())
    text = f"example.com/log\n1\n{base64.b64encode(bytes(32)).decode()}\nnote{character}x\n"
    note = parse_note(sign_note(text, [signer]))
    assert note.text == text and note.verified_by(signer.verifier)
    assert parse_checkpoint(note.text).extensions == (f"note{character}x",)
    if not character.isspace():  # key names exclude Unicode spaces only (and "+")
        named = Signer(f"example.com/{character}log", Ed25519PrivateKey.generate())
        assert parse_note(sign_note(text, [named])).verified_by(named.verifier)


def test_a_note_text_may_hold_empty_lines_but_a_checkpoint_may_not() -> None:
    signer = Signer("quasimodo.example/salvatore", Ed25519PrivateKey.generate())
    poem = (
        "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n"
        "\ned è subito sera.\n"
    )
    note = parse_note(sign_note(poem, [signer]))  # the spec's own example text
    assert note.text == poem and note.verified_by(signer.verifier)
    checkpoint = f"log\n1\n{base64.b64encode(bytes(32)).decode()}\n\nextension\n"
    assert parse_note(sign_note(checkpoint, [signer])).text == checkpoint
    with pytest.raises(NoteError, match="lines must not be empty"):
        parse_checkpoint(checkpoint)
    with pytest.raises(NoteError, match="lines must not be empty"):
        CheckpointBody("log", 1, bytes(32), ("",)).text()


@pytest.mark.parametrize("bad", ["\x00", "\x1b", "\r", "\t", "\ud800"])
def test_ascii_controls_and_lone_surrogates_are_refused(bad: str) -> None:
    with pytest.raises(NoteError, match="control"):
        sign_note(f"text{bad}\n", [Signer("a", Ed25519PrivateKey.generate())])
    with pytest.raises(NoteError):
        parse_note(f"text{bad}\n\n— a AAAAAAAA\n")


@pytest.mark.parametrize(
    "bad",
    [
        "name+abcd+AQ==",
        "na me+00000000+" + "A" * 44,
        "x+00000000+" + base64.b64encode(bytes(33)).decode(),
    ],
)
def test_malformed_vkeys_are_refused(bad: str) -> None:
    with pytest.raises(NoteError):
        parse_vkey(bad)


def test_a_checkpoint_body_has_origin_size_root_and_extensions() -> None:
    body = CheckpointBody("example.com/log", 20852163, bytes(range(32)), ("time 1",))
    text = body.text()
    assert text.splitlines()[:2] == ["example.com/log", "20852163"]
    assert parse_checkpoint(text) == body
    assert body.extension("time") == "1" and body.extension("other") is None
    for bad in ("o\n01\nAAAA\n", "o\n1\nAAAA\n", "o\n1\n", f"o\n{2**64}\n{text.split()[2]}\n"):
        with pytest.raises(NoteError):
            parse_checkpoint(bad)


# Python's int() refuses more than 4,300 digits with a plain ValueError: a size that long
# must be the parser's own error (the witness's 400), not an exception it does not expect.
HUGE_SIZES = ("9" * 5000, "1" * 21, str(2**64), str(2**63))


@pytest.mark.parametrize("size", HUGE_SIZES)
def test_a_checkpoint_size_too_long_or_too_large_is_a_note_error(size: str) -> None:
    with pytest.raises(NoteError, match="size"):
        parse_checkpoint(f"example.com/log\n{size}\n{'A' * 43}=\n")


@pytest.mark.parametrize("size", HUGE_SIZES)
def test_an_old_size_too_long_or_too_large_is_a_note_error(size: str) -> None:
    with pytest.raises(NoteError, match="old size") as caught:
        parse_add_checkpoint(f"old {size}\n\norigin\n1\nAAAA\n".encode())
    assert len(str(caught.value)) < 200  # the error does not echo the whole line


def test_the_largest_tree_size_is_accepted() -> None:
    text = CheckpointBody("example.com/log", 2**63 - 1, bytes(32)).text()
    assert parse_checkpoint(text).size == 2**63 - 1
    request = AddCheckpoint(2**63 - 1, (), "origin\n1\nAAAA\n\n— x y\n")
    assert parse_add_checkpoint(request.encode()).old_size == 2**63 - 1


def test_a_cosignature_binds_the_checkpoint_and_the_time() -> None:
    log = Signer("example.com/log", Ed25519PrivateKey.generate())
    witness = Signer("witness.example/w1", Ed25519PrivateKey.generate(), COSIGNATURE_V1)
    text = CheckpointBody("example.com/log", 5, bytes(32)).text()
    note = parse_note(sign_note(text, [log])).with_signatures(cosign(text, witness, 1679315147))
    found = verify_cosignature(note, witness.verifier)
    assert found is not None and found.timestamp == 1679315147 and found.name == witness.name
    assert not note.verified_by(witness.verifier)  # a cosignature is not a plain signature
    assert verify_cosignature(note, log.verifier) is None
    other_text = CheckpointBody("example.com/log", 6, bytes(32)).text()
    moved = parse_note(sign_note(other_text, [log])).with_signatures(
        cosign(text, witness, 1679315147)
    )
    assert verify_cosignature(moved, witness.verifier) is None
    with pytest.raises(NoteError):
        cosign(text, log, 1)  # a log key (0x01) does not cosign


def test_the_witness_request_body_round_trips() -> None:
    request = AddCheckpoint(20852014, (bytes(32), bytes(range(32))), "origin\n1\nAAAA\n\n— x y\n")
    assert request.encode().startswith(b"old 20852014\nAAAAAAAAAAAA")
    assert parse_add_checkpoint(request.encode()) == request
    for bad in (b"old 01\n\nx", b"new 1\n\nx", b"old 1\nnot base64!\n\nx", b"old 1\nx", b"\xff"):
        with pytest.raises(NoteError):
            parse_add_checkpoint(bad)
