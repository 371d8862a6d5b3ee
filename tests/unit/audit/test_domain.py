"""The log's format: canonical bytes, hashes, the chain, checkpoints and their cadence."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from audit.appender import canonical_event
from audit.domain import (
    FIRST_OF_SUBJECT,
    GENESIS_HASH,
    Checkpoint,
    SubjectLink,
    canonical_json,
    chain_hash,
    checkpoint_due,
    format_log_time,
    leaf_input,
    read_checkpoint,
    seal_entry,
    sha256,
    sign_checkpoint,
)
from audit.handlers import logged_event_types
from audit.keys import SigningKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.clock import ManualClock
from shared.envelope import Envelope
from shared.events import REGISTRY
from shared.transparency.note import parse_note
from tests.integration.audit.journey import journey

T0 = datetime(2026, 11, 26, 9, tzinfo=UTC)


def test_canonical_json_is_rfc8785() -> None:
    value = {"b": [1, 2.0, 1e21, "Hồ sơ"], "a": {"z": None, "y": True}, "\u00e9": "\u20ac"}
    assert canonical_json(value) == (
        '{"a":{"y":true,"z":null},"b":[1,2,1e+21,"Hồ sơ"],"é":"€"}'.encode()
    )


def test_an_event_has_one_canonical_form_whatever_its_wire_layout() -> None:
    event = journey("C-1")[3]
    wire = json.loads(event.to_bytes())
    shuffled = json.dumps(dict(reversed(list(wire.items()))), indent=2, ensure_ascii=True)
    local_time = wire | {"time": event.time.astimezone(timezone(timedelta(hours=7))).isoformat()}
    for layout in (event.to_bytes().decode(), shuffled, json.dumps(local_time)):
        assert canonical_event(Envelope.from_bytes(layout.encode())) == canonical_event(event)
    assert json.loads(canonical_event(event)) == wire


def test_log_time_has_one_text_form_in_milliseconds() -> None:
    moment = datetime(2026, 11, 26, 16, 5, 7, 123456, tzinfo=timezone(timedelta(hours=7)))
    assert format_log_time(moment) == "2026-11-26T09:05:07.123Z"
    assert format_log_time(T0) == "2026-11-26T09:00:00.000Z"


def test_sealed_entries_chain_from_the_genesis_hash() -> None:
    first = seal_entry(0, T0, b'{"id":"a"}', GENESIS_HASH, FIRST_OF_SUBJECT)
    second = seal_entry(1, T0, b'{"id":"b"}', first.chain_hash, FIRST_OF_SUBJECT)
    assert first.event_hash == sha256(b'{"id":"a"}')
    assert first.chain_hash == sha256(bytes(32) + first.leaf_hash)
    assert second.prev_hash == first.chain_hash
    assert second.chain_hash == chain_hash(first.chain_hash, second.leaf_hash)
    assert (
        seal_entry(1, T0, b'{"id":"b"}', GENESIS_HASH, FIRST_OF_SUBJECT).chain_hash
        != second.chain_hash
    )


def make_checkpoint(key: SigningKey) -> Checkpoint:
    return sign_checkpoint(key.signer("log.example/audit"), 8, "ab" * 32, format_log_time(T0))


def test_a_checkpoint_is_a_c2sp_signed_note() -> None:
    key = SigningKey.of(Ed25519PrivateKey.generate())
    checkpoint = make_checkpoint(key)
    root = base64.b64encode(bytes.fromhex("ab" * 32)).decode()
    text = f"log.example/audit\n8\n{root}\ntime 2026-11-26T09:00:00.000Z\n"
    note = parse_note(checkpoint.note)
    assert note.text == text == checkpoint.text
    verifier = key.verifier("log.example/audit")
    assert [s.name for s in note.signatures] == ["log.example/audit"]
    assert note.signatures[0].key_id == verifier.key_id
    assert checkpoint.key_id == verifier.key_hash == verifier.key_id.hex()
    assert note.verified_by(verifier)
    assert len(base64.b64decode(checkpoint.log_signature())) == 64
    assert read_checkpoint(checkpoint.note, verifier) == checkpoint


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("\n8\n", "\n9\n"),
        ("time 2026-11-26T09:00:00.000Z", "time 2026-11-26T09:00:00.001Z"),
        ("log.example/audit\n8", "log.example/other\n8"),
    ],
)
def test_any_change_to_a_signed_checkpoint_breaks_its_signature(old: str, new: str) -> None:
    key = SigningKey.of(Ed25519PrivateKey.generate())
    checkpoint = make_checkpoint(key)
    altered = parse_note(checkpoint.note.replace(old, new, 1))
    assert altered.text != checkpoint.text
    assert not altered.verified_by(key.verifier("log.example/audit"))


def test_a_checkpoint_does_not_verify_with_another_key() -> None:
    key, other = (SigningKey.of(Ed25519PrivateKey.generate()) for _ in range(2))
    note = parse_note(make_checkpoint(key).note)
    assert not note.verified_by(other.verifier("log.example/audit"))


def test_a_leaf_commits_to_the_entry_s_place_in_its_dossier() -> None:
    first = seal_entry(0, T0, b'{"id":"a"}', GENESIS_HASH, FIRST_OF_SUBJECT)
    second = seal_entry(5, T0, b'{"id":"b"}', first.chain_hash, FIRST_OF_SUBJECT.following(0))
    assert second.link == SubjectLink(previous=0, count=2)
    assert json.loads(leaf_input(5, "t", "ab", second.link)) == {
        "event_hash": "ab",
        "index": 5,
        "logged_at": "t",
        "subject_count": 2,
        "subject_previous": 0,
    }
    # Each link field is bound: another previous entry or count is another leaf.
    for other in (SubjectLink(1, 2), SubjectLink(0, 3), FIRST_OF_SUBJECT):
        again = seal_entry(5, T0, b'{"id":"b"}', first.chain_hash, other)
        assert again.leaf_hash != second.leaf_hash
    # Entries logged before links existed keep their original leaf input.
    assert json.loads(leaf_input(5, "t", "ab")) == {
        "event_hash": "ab",
        "index": 5,
        "logged_at": "t",
    }


@pytest.mark.parametrize(
    ("size", "signed", "age_s", "due"),
    [
        (0, 0, 999, False),  # empty log
        (10, 10, 999, False),  # nothing new, however old
        (11, 10, 0, False),  # one new entry, just logged
        (11, 10, 29.999, False),
        (11, 10, 30, True),  # the oldest unsigned entry reached T seconds
        (110, 10, 0, True),  # N unsigned entries
        (109, 10, 0, False),
    ],
)
def test_checkpoint_cadence(size: int, signed: int, age_s: float, due: bool) -> None:
    clock = ManualClock(T0)
    oldest_unsigned_at = clock.now() if size > signed else None
    clock.advance(timedelta(seconds=age_s))
    assert (
        checkpoint_due(
            tree_size=size,
            checkpointed_size=signed,
            oldest_unsigned_at=oldest_unsigned_at,
            now=clock.now(),
            every=100,
            max_age=timedelta(seconds=30),
        )
        is due
    )


def test_every_dossier_notification_and_operations_event_is_logged() -> None:
    expected = {t for t in REGISTRY if t.startswith(("dossier.", "notification.", "operations."))}
    assert set(logged_event_types()) == expected
    assert "dossier.command.refused.v1" in expected
    assert not {t for t in logged_event_types() if t.startswith(("command.", "audit."))}
